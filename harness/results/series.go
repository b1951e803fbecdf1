package results

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/relapse-dev/relapse/harness/curve"
)

// csvHeader is the first line of every series CSV.
var csvHeader = []string{"t_s", "op", "value"}

// WriteCSV writes a series' points as "t_s,op,value" rows at full float
// precision, so a spreadsheet or pandas gets exactly what was measured.
func WriteCSV(w io.Writer, s curve.Series) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("write csv %s: %w", s.Metric, err)
	}
	row := make([]string, 3)
	for _, p := range s.Points {
		row[0] = strconv.FormatFloat(p.T, 'g', -1, 64)
		row[1] = strconv.FormatFloat(p.Op, 'g', -1, 64)
		row[2] = strconv.FormatFloat(p.V, 'g', -1, 64)
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write csv %s: %w", s.Metric, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv %s: %w", s.Metric, err)
	}
	return nil
}

// ReadCSV reads points written by WriteCSV.
func ReadCSV(r io.Reader) ([]curve.Point, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = len(csvHeader)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read csv header: %w", err)
	}
	for i, h := range csvHeader {
		if head[i] != h {
			return nil, fmt.Errorf("read csv: header %v, want %v", head, csvHeader)
		}
	}
	var pts []curve.Point
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return pts, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read csv: %w", err)
		}
		var v [3]float64
		for i, f := range rec {
			if v[i], err = strconv.ParseFloat(f, 64); err != nil {
				return nil, fmt.Errorf("read csv line %d column %s: %w", line, csvHeader[i], err)
			}
		}
		pts = append(pts, curve.Point{T: v[0], Op: v[1], V: v[2]})
	}
}

// LoadSeries reads a series' JSON copy (the .json twin of a series CSV),
// phases and unit included, so a verdict can be recomputed with
// curve.Evaluate after a fitting change.
func LoadSeries(path string) (curve.Series, error) {
	return readJSON(path, "series", func(s curve.Series) string {
		if s.Metric == "" {
			return "no metric name: not a series file"
		}
		return ""
	})
}

// LoadResultSeries reads every series a result recorded (the JSON twins of
// its SeriesFiles) from the run directory dir.
func LoadResultSeries(dir string, r Result) ([]curve.Series, error) {
	var series []curve.Series
	for _, csv := range r.SeriesFiles {
		s, err := LoadSeries(filepath.Join(dir, strings.TrimSuffix(csv, ".csv")+".json"))
		if err != nil {
			return nil, err
		}
		series = append(series, s)
	}
	return series, nil
}

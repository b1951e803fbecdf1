package results

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
)

func TestCSVRoundTripKeepsFullPrecision(t *testing.T) {
	s := curve.Series{Metric: "containerd_rss_bytes", Unit: "bytes", Points: []curve.Point{
		{T: 0, Op: 0, V: 49283072},
		{T: 0.1 + 0.2, Op: 3, V: 5.4e7 + 0.123456789},
		{T: 1e-300, Op: 1 << 53, V: -1.5},
		{T: 12.345678901234567, Op: 7, V: math.MaxFloat64},
	}}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, s); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(buf.String(), "\n"); first != "t_s,op,value" {
		t.Fatalf("header %q", first)
	}
	got, err := ReadCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(s.Points) {
		t.Fatalf("%d points back, want %d", len(got), len(s.Points))
	}
	for i := range got {
		if got[i] != s.Points[i] {
			t.Errorf("point %d: %+v, want %+v", i, got[i], s.Points[i])
		}
	}
}

func TestReadCSVRejectsBadInput(t *testing.T) {
	for name, in := range map[string]string{
		"wrong header": "t,op,value\n1,2,3\n",
		"not a number": "t_s,op,value\n1,two,3\n",
		"short row":    "t_s,op,value\n1,2\n",
		"empty":        "",
	} {
		if _, err := ReadCSV(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

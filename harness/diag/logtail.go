package diag

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// maxTailBytes caps how much of a log's end is read: a containerd goroutine
// dump is one log line of megabytes.
const maxTailBytes = 8 << 20

// logTail saves the last LogLines lines of the daemon's log (dockerd's log
// holds its containerd's output too).
func (c *collection) logTail(name, path string) error {
	data, err := Tail(path, c.opts.LogLines, maxTailBytes)
	if err != nil {
		return err
	}
	return c.write(name+"-log-tail.txt", data)
}

// Tail returns the last n lines of the file at path (all of it when n <=
// 0), reading at most maxBytes from its end.
func Tail(path string, n int, maxBytes int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("log tail: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("log tail: %w", err)
	}
	off := max(fi.Size()-maxBytes, 0)
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, fmt.Errorf("log tail: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("log tail: %w", err)
	}
	if off > 0 {
		// Drop the partial first line.
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	trimmed := bytes.TrimSuffix(data, []byte("\n"))
	count := 0
	for i := len(trimmed) - 1; i >= 0; i-- {
		if trimmed[i] == '\n' {
			count++
			if count == n {
				return data[i+1:], nil
			}
		}
	}
	return data, nil
}

package probe

import (
	"io"
	"time"
)

// Paced is a source the sampler reads at most once per Every, however
// short its interval. It is for a source whose every read costs the daemon
// under test CPU (a request it must serve: the goroutine probe costs
// dockerd ~0.9 ms a read on this VM, more than the rest of a sample costs
// the harness; make bench) and whose series no budget judges, so that
// reading it less often changes no verdict.
type Paced struct {
	Source
	Every time.Duration
}

// Close closes the paced source if it holds anything.
func (p Paced) Close() error {
	if c, ok := p.Source.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

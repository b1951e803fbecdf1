package probe

import "sync/atomic"

// Ops counts completed stimulus operations (a kill call, a request, a MiB
// written). Samples carry its value so curves can be fitted per op.
type Ops struct{ n atomic.Int64 }

// Add records n more completed operations.
func (o *Ops) Add(n int64) { o.n.Add(n) }

// Load returns the number of operations completed so far.
func (o *Ops) Load() int64 { return o.n.Load() }

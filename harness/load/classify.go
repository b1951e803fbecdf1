package load

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"slices"
	"syscall"
	"time"
)

// classify names the class of a failed request, so a report can tell a
// server that refuses (down) from one that resets (crashing) or stalls.
func classify(ctx context.Context, err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		if ctx.Err() == context.Canceled {
			return "canceled"
		}
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "reset"
	default:
		return "other"
	}
}

// statusClass names the class of a non-2xx answer.
func statusClass(code int) string {
	switch {
	case code >= 400 && code < 500:
		return "http_4xx"
	case code >= 500 && code < 600:
		return "http_5xx"
	default:
		return "http_other"
	}
}

// percentile returns the nearest-rank q-quantile of d (0 when empty). It
// sorts d in place.
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(math.Ceil(q*float64(len(d)))) - 1
	return d[max(0, min(i, len(d)-1))]
}

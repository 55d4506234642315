package notify

import (
	"math/rand/v2"
	"time"
)

// Backoff says when a failed attempt is tried again: exponential from Base, doubled per
// attempt and capped at Max, with "equal jitter" (half the delay fixed, half random), so that
// the retries of many deliveries that failed together spread out instead of returning at the
// same instant. MaxAttempts bounds the attempts of one delivery, the first included.
type Backoff struct {
	Base        time.Duration
	Max         time.Duration
	MaxAttempts int
}

// DefaultBackoff makes eight attempts over one to two hours: the waits are 1, 2, 4, 8, 16, 32
// and 60 minutes (the cap), each between half and all of that.
var DefaultBackoff = Backoff{Base: time.Minute, Max: time.Hour, MaxAttempts: 8}

// Delay returns the wait after failed attempt n (from 1) and whether another attempt follows.
// rnd is a number in [0, 1); nil uses math/rand.
func (b Backoff) Delay(n int, rnd func() float64) (time.Duration, bool) {
	if n >= b.MaxAttempts || n < 1 {
		return 0, false
	}
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if rnd == nil {
		rnd = rand.Float64
	}
	half := d / 2
	return half + time.Duration(rnd()*float64(d-half)), true
}

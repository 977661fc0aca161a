package console

import "time"

// Clock is the console's time source, injected so tests drive lockouts, idle logouts and
// commit-confirmed rollbacks without waiting. Timers are set for an instant, not a duration, so a
// fake clock that moves between Now and the timer's creation cannot make a timer late.
type Clock interface {
	Now() time.Time
	// TimerAt returns a timer that fires once the clock reaches deadline (at once when it has).
	TimerAt(deadline time.Time) Timer
}

// Timer is a one-shot timer of a Clock.
type Timer interface {
	C() <-chan time.Time
	Stop()
}

// SystemClock is the real clock. Deadlines made from its Now carry the monotonic reading, so
// time.Until measures them on the monotonic clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// TimerAt returns a time.Timer for time.Until(deadline).
func (SystemClock) TimerAt(deadline time.Time) Timer {
	return sysTimer{time.NewTimer(time.Until(deadline))}
}

type sysTimer struct{ t *time.Timer }

func (s sysTimer) C() <-chan time.Time { return s.t.C }
func (s sysTimer) Stop()               { s.t.Stop() }

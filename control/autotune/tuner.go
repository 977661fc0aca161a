package autotune

import (
	"errors"
	"fmt"
	"math"
	"math/cmplx"
	"slices"
	"time"
)

// Sentinel errors. Every failure of an experiment wraps one of them.
var (
	ErrConfig        = errors.New("autotune: invalid config")          // a field is bad; the message names it
	ErrTimeout       = errors.New("autotune: timeout")                 // the experiment ran longer than Config.Timeout
	ErrNoResponse    = errors.New("autotune: no response to the step") // the step moved pv too little against its noise
	ErrNoOscillation = errors.New("autotune: no oscillation")          // the relay output stayed on one side too long
	ErrInconsistent  = errors.New("autotune: oscillation not steady")  // MaxCycles periods without MinCycles consistent ones
	ErrDeviation     = errors.New("autotune: pv deviation too large")  // pv left the band allowed by MaxDeviation
	ErrBadPV         = errors.New("autotune: pv not finite")           // the caller passed NaN or Inf
	ErrAborted       = errors.New("autotune: aborted")                 // Abort was called
	ErrModel         = errors.New("autotune: invalid model")           // a tuning rule got an unusable model
	ErrNotDone       = errors.New("autotune: experiment not finished")
)

// Phase is where the experiment is.
type Phase uint8

const (
	PhaseBaseline Phase = iota // output at Bias, measuring pv level and noise
	PhaseStep                  // output stepped by StepSize, waiting for pv to settle
	PhaseRelay                 // relay with hysteresis around the settled level
	PhaseDone                  // finished; Result is available
	PhaseFailed                // aborted; Err says why
)

var phaseNames = [...]string{"baseline", "step", "relay", "done", "failed"}

func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase(%d)", uint8(p))
}

// MarshalText implements encoding.TextMarshaler.
func (p Phase) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Defaults for zero-valued Config fields.
const (
	DefaultBaseline   = time.Minute
	DefaultMinCycles  = 3
	DefaultMaxCycles  = 20
	DefaultTolerance  = 0.1
	DefaultTimeout    = 4 * time.Hour
	DefaultSettleFrac = 0.01
	maxSamples        = 200_000
)

// Config describes one experiment. Output values are in the actuator's unit (e.g. fan %),
// pv in the measurement's (°C).
type Config struct {
	Bias     float64 `json:"bias" toml:"bias"`       // output the plant rests at when the test starts (required)
	StepSize float64 `json:"step" toml:"step"`       // step for the model test; 0 = +D (up: more air for a fan)
	D        float64 `json:"d" toml:"d"`             // relay amplitude, > 0
	Eps      float64 `json:"eps" toml:"eps"`         // relay hysteresis on pv; 0 = 3 x the baseline noise std
	OutMin   float64 `json:"out_min" toml:"out_min"` // actuator limits: the test never leaves them
	OutMax   float64 `json:"out_max" toml:"out_max"` //
	MaxDev   float64 `json:"max_dev" toml:"max_dev"` // abort if pv strays further from its start level (0 = no limit)
	// MaxAbove and MaxBelow bound pv above and below its start level separately (0 = MaxDev): a
	// cooling loop's inlet may fall a long way (more air is harmless) but must not rise much.
	MaxAbove float64 `json:"max_above" toml:"max_above"`
	MaxBelow float64 `json:"max_below" toml:"max_below"`
	TauC     float64 `json:"tau_c_s" toml:"tau_c_s"` // SIMC closed-loop time constant; 0 = default (see SIMC)
	// TauCRatio, when TauC is 0, sets SIMC's tau_c to this multiple of the model's dead time (as
	// sampled), floored at T/10 as the default; 0 = 1 (Skogestad's tight control). A measurement
	// that is held between reports or noisy calls for 1.5..3 (smoother, more robust).
	TauCRatio float64       `json:"tau_c_ratio" toml:"tau_c_ratio"`
	MinCycles int           `json:"min_cycles" toml:"min_cycles"` // consistent relay periods needed, default 3
	MaxCycles int           `json:"max_cycles" toml:"max_cycles"` // give up after this many periods, default 20
	Tolerance float64       `json:"tolerance" toml:"tolerance"`   // relative spread allowed in period and amplitude, default 0.1
	Baseline  time.Duration `json:"baseline" toml:"baseline"`     // time at Bias before the step, default 1 min
	// RestWait: the baseline goes on up to this long past Baseline until pv is at rest (its
	// trend over the last Baseline within twice its noise). 0 = 4 x Baseline, < 0 = no wait.
	RestWait time.Duration `json:"rest_wait" toml:"rest_wait"`
	Timeout  time.Duration `json:"timeout" toml:"timeout"` // whole experiment, default 4 h
	// NoSwitch: a relay half cycle longer than this means the output saturates without
	// oscillation. 0 = 5 x (T + L) of the model from the step (at least 10 samples).
	NoSwitch time.Duration `json:"no_switch" toml:"no_switch"`
}

func cfgErr(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrConfig, field, fmt.Sprintf(format, args...))
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func (c Config) withDefaults() (Config, error) {
	for _, f := range []struct {
		name string
		v    float64
	}{{"bias", c.Bias}, {"step", c.StepSize}, {"d", c.D}, {"eps", c.Eps}, {"out_min", c.OutMin},
		{"out_max", c.OutMax}, {"max_dev", c.MaxDev}, {"max_above", c.MaxAbove}, {"max_below", c.MaxBelow},
		{"tau_c_s", c.TauC}, {"tau_c_ratio", c.TauCRatio}, {"tolerance", c.Tolerance}} {
		if !finite(f.v) {
			return c, cfgErr(f.name, "must be finite (got %g)", f.v)
		}
	}
	if c.OutMax <= c.OutMin {
		return c, cfgErr("out_max", "must be > out_min %g (got %g)", c.OutMin, c.OutMax)
	}
	if c.D <= 0 {
		return c, cfgErr("d", "must be > 0 (got %g)", c.D)
	}
	if c.StepSize == 0 {
		c.StepSize = c.D
	}
	if c.Bias < c.OutMin || c.Bias > c.OutMax {
		return c, cfgErr("bias", "%g outside the output limits %g..%g", c.Bias, c.OutMin, c.OutMax)
	}
	if b := c.Bias + c.StepSize; b < c.OutMin || b > c.OutMax {
		return c, cfgErr("step", "bias+step %g outside the output limits %g..%g", b, c.OutMin, c.OutMax)
	}
	if b := c.Bias + c.StepSize; b-c.D < c.OutMin || b+c.D > c.OutMax {
		return c, cfgErr("d", "relay %g±%g leaves the output limits %g..%g", b, c.D, c.OutMin, c.OutMax)
	}
	if c.TauCRatio < 0 || c.TauCRatio > 20 {
		return c, cfgErr("tau_c_ratio", "must be 0..20 (got %g)", c.TauCRatio)
	}
	if c.Eps < 0 || c.MaxDev < 0 || c.TauC < 0 || c.MaxAbove < 0 || c.MaxBelow < 0 {
		return c, cfgErr("eps/max_dev/max_above/max_below/tau_c_s", "must be >= 0 (got %g, %g, %g, %g, %g)",
			c.Eps, c.MaxDev, c.MaxAbove, c.MaxBelow, c.TauC)
	}
	if c.MinCycles == 0 {
		c.MinCycles = DefaultMinCycles
	}
	if c.MinCycles < 2 {
		return c, cfgErr("min_cycles", "must be >= 2 (got %d)", c.MinCycles)
	}
	if c.MaxCycles == 0 {
		c.MaxCycles = max(DefaultMaxCycles, c.MinCycles+2)
	}
	if c.MaxCycles < c.MinCycles+1 {
		return c, cfgErr("max_cycles", "must be > min_cycles %d (got %d)", c.MinCycles, c.MaxCycles)
	}
	if c.Tolerance == 0 {
		c.Tolerance = DefaultTolerance
	}
	if c.Tolerance < 0.01 || c.Tolerance > 0.5 {
		return c, cfgErr("tolerance", "must be 0.01..0.5 (got %g)", c.Tolerance)
	}
	if c.Baseline == 0 {
		c.Baseline = DefaultBaseline
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.RestWait == 0 {
		c.RestWait = 4 * c.Baseline
	}
	if c.Baseline < 0 || c.Timeout <= c.Baseline || c.NoSwitch < 0 {
		return c, cfgErr("timeout", "must exceed baseline %v (got %v; no_switch %v)", c.Baseline, c.Timeout, c.NoSwitch)
	}
	return c, nil
}

// Progress is what the console shows while an experiment runs.
type Progress struct {
	Phase   Phase         `json:"phase"`
	Elapsed time.Duration `json:"elapsed"`
	Out     float64       `json:"out"`     // output being applied
	Periods int           `json:"periods"` // relay periods completed
	Steady  int           `json:"steady"`  // of those, the trailing run consistent within Tolerance
	Need    int           `json:"need"`    // MinCycles
	Err     string        `json:"err,omitempty"`
}

type sample struct{ t, y, u float64 } // u: output applied from t until the next sample

// Tuner runs one relay experiment, driven by Step at every control tick. It is not safe for
// concurrent use.
type Tuner struct {
	cfg   Config
	phase Phase
	err   error
	out   float64

	started bool
	start   time.Time
	last    time.Time
	now     time.Time

	samples []sample // pv since the start, t in s
	dts     []float64

	// baseline
	y0, noise, drift float64
	hold             float64 // longest time pv held one value (a sampled-and-held measurement)
	waited           float64 // time the baseline waited for pv to come to rest
	// step
	tStep    float64
	stepData StepData
	model    Model
	// relay
	tRelay     float64
	ref, bias  float64
	eps        float64
	sign       float64 // sign of the process gain
	high       bool
	lastSwitch float64
	lastDown   float64 // time of the last switch to low, -1 before the first
	hiSince    float64
	hiDur      []float64
	loDur      []float64
	ymax, ymin float64
	periods    []float64
	amps       []float64    // half peak-to-peak of pv per period
	famps      []float64    // amplitude of pv's fundamental per period
	gains      []complex128 // the plant's frequency response per period (first harmonics of pv over output)
	downs      []float64    // times of the switches to low
	noSwitch   float64

	result Result
}

// New validates cfg and returns a Tuner ready for its first Step.
func New(cfg Config) (*Tuner, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Tuner{cfg: c, out: c.Bias, lastDown: -1}, nil
}

// Config returns the configuration in force, with defaults filled in.
func (t *Tuner) Config() Config { return t.cfg }

// Err is nil while running or after success, else why the experiment failed.
func (t *Tuner) Err() error { return t.err }

// Abort stops the experiment (e.g. the operator cancelled, or the zone went fail-safe); the next
// Step returns Bias and done.
func (t *Tuner) Abort(reason string) {
	if t.phase < PhaseDone {
		t.fail(fmt.Errorf("%w: %s", ErrAborted, reason))
	}
}

func (t *Tuner) fail(err error) {
	t.err = fmt.Errorf("%w (phase %s, %.0f s in)", err, t.phase, t.elapsed())
	t.phase = PhaseFailed
	t.out = t.cfg.Bias
}

func (t *Tuner) elapsed() float64 {
	if !t.started {
		return 0
	}
	return t.last.Sub(t.start).Seconds()
}

// Progress reports the phase and the relay cycles seen so far.
func (t *Tuner) Progress() Progress {
	p := Progress{Phase: t.phase, Elapsed: time.Duration(t.elapsed() * float64(time.Second)), Out: t.out,
		Periods: len(t.periods), Steady: t.steadyRun(), Need: t.cfg.MinCycles}
	if t.err != nil {
		p.Err = t.err.Error()
	}
	return p
}

// Result returns the experiment's result once Step has reported done without error.
func (t *Tuner) Result() (Result, error) {
	switch t.phase {
	case PhaseDone:
		return t.result, nil
	case PhaseFailed:
		return Result{}, t.err
	}
	return Result{}, ErrNotDone
}

// Step takes the measurement at time now (from the caller's monotonic clock) and returns the
// output to apply until the next Step, and whether the experiment is over. When over, out is
// Bias (the output before the test) and Err/Result tell how it went. A sample not later than
// the previous one is ignored (the output holds).
func (t *Tuner) Step(pv float64, now time.Time) (out float64, done bool) {
	if t.phase >= PhaseDone {
		return t.cfg.Bias, true
	}
	if t.started && !now.After(t.last) {
		return t.out, false
	}
	if !t.started {
		t.started, t.start = true, now
	} else {
		t.dts = append(t.dts, now.Sub(t.last).Seconds())
	}
	t.last, t.now = now, now
	if !finite(pv) {
		t.fail(fmt.Errorf("%w: %g", ErrBadPV, pv))
		return t.out, true
	}
	s := t.elapsed()
	if s > t.cfg.Timeout.Seconds() {
		hint := ""
		switch t.phase {
		case PhaseStep:
			m, _ := t.windowMean(s-(s-t.tStep)/6, s)
			hint = fmt.Sprintf(": pv not settled after the step of %g (moved %.3g so far, noise std %.3g)", t.cfg.StepSize, m-t.y0, t.noise)
		case PhaseRelay:
			hint = fmt.Sprintf(": %d relay periods, %d steady of %d needed", len(t.periods), t.steadyRun(), t.cfg.MinCycles)
		}
		t.fail(fmt.Errorf("%w after %v%s", ErrTimeout, t.cfg.Timeout, hint))
		return t.out, true
	}
	if len(t.samples) >= maxSamples {
		t.fail(fmt.Errorf("%w: %d samples", ErrTimeout, maxSamples))
		return t.out, true
	}
	t.samples = append(t.samples, sample{t: s, y: pv})
	if t.phase > PhaseBaseline {
		lim, name := t.cfg.MaxDev, "max_dev"
		if pv > t.y0 && t.cfg.MaxAbove > 0 {
			lim, name = t.cfg.MaxAbove, "max_above"
		} else if pv < t.y0 && t.cfg.MaxBelow > 0 {
			lim, name = t.cfg.MaxBelow, "max_below"
		}
		if lim > 0 && math.Abs(pv-t.y0) > lim {
			t.fail(fmt.Errorf("%w: pv %.4g is %+.3g from its start level %.4g (%s %g)", ErrDeviation, pv, pv-t.y0, t.y0, name, lim))
			return t.out, true
		}
	}
	switch t.phase {
	case PhaseBaseline:
		t.stepBaseline(s)
	case PhaseStep:
		t.stepStep(s)
	case PhaseRelay:
		t.stepRelay(s, pv)
	}
	t.samples[len(t.samples)-1].u = t.out
	if t.phase == PhaseFailed {
		return t.out, true
	}
	if t.phase == PhaseDone {
		return t.cfg.Bias, true
	}
	return t.out, false
}

// stepBaseline measures pv at Bias over the last Baseline; while its trend over that window is
// more than twice its noise (the plant still moving, e.g. after the loop that ran before), it
// waits, up to RestWait past Baseline.
func (t *Tuner) stepBaseline(s float64) {
	b := t.cfg.Baseline.Seconds()
	if s < b || len(t.samples) < 5 {
		return
	}
	win := t.samples[sortSearch(t.samples, s-b):]
	if len(win) < 5 {
		win = t.samples[len(t.samples)-5:]
	}
	// Noise: residual std about a fitted line, so a slow drift is reported as drift, not noise.
	drift, noise := lineFit(win)
	if math.Abs(drift)*b > 2*noise && t.cfg.RestWait > 0 && s < b+t.cfg.RestWait.Seconds() {
		return
	}
	ys := make([]float64, len(win))
	for i, sm := range win {
		ys[i] = sm.y
	}
	t.y0, t.drift, t.noise = mean(ys), drift, noise
	t.waited = s - b
	t.hold = holdTime(t.samples, median(t.dts))
	t.phase = PhaseStep
	t.tStep = s
	t.out = t.cfg.Bias + t.cfg.StepSize
}

// stepStep waits until pv settles after the step: the mean over the last sixth of the time since
// the step differs from the mean over the sixth before by less than 1 % of the total change (or
// twice the baseline noise, if more), each sixth spans at least two of pv's hold times (a
// measurement that is sampled and held, as a zone's hottest sensor reporting every 30 s, shows
// the same value in two short windows long before it has settled), and the time since the step
// is at least four times the time to 63 % of the change (98 % of a first-order response).
func (t *Tuner) stepStep(s float64) {
	el := s - t.tStep
	thresh := math.Max(5*t.noise, 1e-9*math.Max(1, math.Abs(t.y0)))
	if el <= 0 || len(t.samples) < 20 {
		return
	}
	w := el / 6
	if w < 2*t.hold {
		return
	}
	m1, n1 := t.windowMean(s-w, s)
	m2, n2 := t.windowMean(s-2*w, s-w)
	if n1 < 3 || n2 < 3 {
		return
	}
	change := m1 - t.y0
	if math.Abs(change) <= thresh || math.Abs(m1-m2) > math.Max(DefaultSettleFrac*math.Abs(change), 2*t.noise) {
		return
	}
	if t63 := crossTime(t.samples, t.tStep, t.y0, change, 0.632); !finite(t63) || el < 4*t63 {
		return
	}
	if math.Abs(change) < 10*t.noise {
		t.fail(fmt.Errorf("%w: pv moved %g for a step of %g, noise std %g", ErrNoResponse, change, t.cfg.StepSize, t.noise))
		return
	}
	m, sd, err := twoPoint(t.samples, t.tStep, t.y0, m1, t.cfg.StepSize)
	if err != nil {
		t.fail(err)
		return
	}
	t.model, t.stepData = m, sd
	t.stepData.U0, t.stepData.U1 = t.cfg.Bias, t.cfg.Bias+t.cfg.StepSize
	t.stepData.Settled = el

	// Relay around the settled level, biased at the stepped output.
	t.phase = PhaseRelay
	t.tRelay, t.lastSwitch, t.hiSince = s, s, s
	t.ref, t.bias = m1, t.cfg.Bias+t.cfg.StepSize
	t.sign = math.Copysign(1, m.K)
	t.eps = t.cfg.Eps
	if t.eps == 0 {
		t.eps = 3 * t.noise
	}
	t.noSwitch = t.cfg.NoSwitch.Seconds()
	if t.noSwitch == 0 {
		// A half period takes about as long as the plant took to settle after the step; the
		// model's 5 (T+L) alone is short when the fit of a sampled-and-held pv reads T small.
		t.noSwitch = max(5*(m.T+m.L), 1.5*el, 10*median(t.dts))
	}
	t.high = true // start by raising the output: for a fan, more air first
	t.out = t.bias + t.cfg.D
	t.ymax, t.ymin = t.samples[len(t.samples)-1].y, t.samples[len(t.samples)-1].y
}

func (t *Tuner) stepRelay(s, pv float64) {
	t.ymax, t.ymin = math.Max(t.ymax, pv), math.Min(t.ymin, pv)
	// x > 0: pv is on the side that calls for less output.
	x := t.sign * (pv - t.ref)
	switched := false
	if t.high && x > t.eps {
		t.high, switched = false, true
		t.hiDur = append(t.hiDur, s-t.hiSince)
		if t.lastDown >= 0 {
			t.periods = append(t.periods, s-t.lastDown)
			t.amps = append(t.amps, (t.ymax-t.ymin)/2)
			y1, u1 := t.fundamental(t.lastDown, s, 1)
			t.famps = append(t.famps, cmplx.Abs(y1))
			g := complex128(0) // no output swing, no information: rejected by relayModel
			if cmplx.Abs(u1) > 0 {
				g = complex(t.sign, 0) * y1 / u1 // gain sign folded out
			}
			t.gains = append(t.gains, g)
		}
		t.lastDown = s
		t.downs = append(t.downs, s)
		t.ymax, t.ymin = pv, pv
	} else if !t.high && x < -t.eps {
		t.high, switched = true, true
		t.loDur = append(t.loDur, s-t.lastSwitch)
		t.hiSince = s
	}
	if switched {
		t.lastSwitch = s
	} else if s-t.lastSwitch > t.noSwitch {
		side := "high"
		if !t.high {
			side = "low"
		}
		t.fail(fmt.Errorf("%w: output held %s at %.4g for %.0f s without pv crossing %.4g±%.3g (pv now %.4g); d too small for the load, or the plant saturates",
			ErrNoOscillation, side, t.out, s-t.lastSwitch, t.ref, t.eps, pv))
		return
	}
	if t.high {
		t.out = t.bias + t.cfg.D
	} else {
		t.out = t.bias - t.cfg.D
	}
	if !switched || len(t.periods) == 0 {
		return
	}
	if n := t.steadyN(); n > 0 {
		t.finish(s, n)
		return
	}
	if len(t.periods) >= t.cfg.MaxCycles {
		t.fail(fmt.Errorf("%w: %d periods %v, amplitudes %v (fundamental %v), none %d in a row within %.0f %% and no two runs of %d with means within it",
			ErrInconsistent, len(t.periods), round3(t.periods), round3(t.amps), round3(t.famps), t.cfg.MinCycles, 100*t.cfg.Tolerance, t.cfg.MinCycles))
	}
}

// steadyRun is the length of the trailing run of periods (the first, transient one excluded)
// whose period and amplitude (of pv's fundamental over the period) stay within Tol of the run's
// means, or within what the measurement resolves if more (a switch waits for pv's next value, so
// a period is known to about half a hold time, an amplitude to about twice the noise), and whose
// fundamental is at least minShape of its half peak-to-peak.
func (t *Tuner) steadyRun() int {
	best := 0
	for n := 1; n <= len(t.periods)-1; n++ {
		ps, as := t.periods[len(t.periods)-n:], t.famps[len(t.famps)-n:]
		if !within(ps, t.cfg.Tolerance, t.hold/2) || !within(as, t.cfg.Tolerance, 2*t.noise) ||
			as[0] < minShape*t.amps[len(t.amps)-n] {
			break
		}
		best = n
	}
	return best
}

// steadyN is how many of the last periods the result is computed over, 0 while the oscillation
// is not steady: MinCycles when they are consistent one by one (steadyRun); else 2k when the
// means of the last k and of the k before agree within Tol, for the least k from MinCycles up
// (the first period excluded). A measurement sampled and held, or a hottest-of-many, makes the
// periods jitter, or repeat in a longer pattern, while the oscillation as a whole is stationary.
func (t *Tuner) steadyN() int {
	m := t.cfg.MinCycles
	if t.steadyRun() >= m {
		return m
	}
	for k := m; 2*k <= len(t.periods)-1; k++ {
		agree := func(xs []float64, abs float64) bool {
			a, b := mean(xs[len(xs)-k:]), mean(xs[len(xs)-2*k:len(xs)-k])
			return math.Abs(a-b) <= math.Max(t.cfg.Tolerance*math.Abs(a+b)/2, abs)
		}
		if agree(t.periods, t.hold/2) && agree(t.famps, t.noise) &&
			mean(t.famps[len(t.famps)-2*k:]) >= minShape*mean(t.amps[len(t.amps)-2*k:]) {
			return 2 * k
		}
	}
	return 0
}

// within reports whether every x is within max(tol |mean|, abs) of the mean.
func within(xs []float64, tol, abs float64) bool {
	m := mean(xs)
	lim := math.Max(tol*math.Abs(m), abs)
	for _, x := range xs {
		if math.Abs(x-m) > lim {
			return false
		}
	}
	return true
}

func (t *Tuner) finish(s float64, n int) {
	ps, as := t.periods[len(t.periods)-n:], t.amps[len(t.amps)-n:]
	pu, a, a1 := mean(ps), mean(as), mean(t.famps[len(t.famps)-n:])
	// The frequency response at the oscillation: the mean of the periods' (each period's first
	// harmonics), which stays right when the periods jitter around their mean.
	var g complex128
	for _, gi := range t.gains[len(t.gains)-n:] {
		g += gi / complex(float64(n), 0)
	}
	if a1 <= t.eps*1.05 || a <= t.eps*1.05 {
		t.fail(fmt.Errorf("%w: amplitude %g (fundamental %g) not above hysteresis %g; lower eps or raise d", ErrInconsistent, a, a1, t.eps))
		return
	}
	ku := 4 * t.cfg.D / (math.Pi * math.Sqrt(a1*a1-t.eps*t.eps))
	kuPeak := 4 * t.cfg.D / (math.Pi * math.Sqrt(a*a-t.eps*t.eps))
	h := median(t.dts)
	r := Result{
		Date:         t.now,
		DurationS:    s,
		Samples:      len(t.samples),
		SamplePeriod: h,
		Relay: RelayData{
			D: t.cfg.D, Eps: t.eps, Bias: t.bias, Ref: t.ref, Amplitude: a, Fundamental: a1, Period: pu,
			Gain: cmplx.Abs(g), PhaseDeg: cmplx.Phase(g) * 180 / math.Pi, KuPeak: kuPeak,
			Periods: round3(t.periods), Amplitudes: round3(t.amps), Cycles: len(t.periods),
			Asymmetry: asym(t.hiDur, t.loDur, n),
		},
		Ku: ku, Pu: pu,
		Baseline:  BaselineData{Y0: t.y0, Noise: t.noise, Drift: t.drift, Hold: t.hold, Waited: t.waited},
		Step:      t.stepData,
		Model:     t.model,
		StepModel: t.model,
		ModelFrom: "step",
	}
	if m, ok := relayModel(t.model.K, cmplx.Abs(g), cmplx.Phase(g), 2*math.Pi/pu); ok {
		r.RelayModel, r.Model, r.ModelFrom = m, m, "relay"

	}
	if ku2, _ := r.Model.Ultimate(); finite(ku2) && ku2 > 0 {
		r.KuModel = ku2
	}
	// Tune for the loop as it is sampled: a zero-order hold adds about h/2 of dead time.
	tm := Model{K: r.Model.K, T: r.Model.T, L: r.Model.L + h/2}
	tauC := t.cfg.TauC
	if tauC == 0 && t.cfg.TauCRatio > 0 {
		tauC = math.Max(t.cfg.TauCRatio*tm.L, tm.T/10)
	}
	r.TauC = simcTauC(tm, tauC)
	for _, f := range []func() (Tuning, error){
		func() (Tuning, error) { return SIMC(tm, tauC, false) },
		func() (Tuning, error) { return SIMC(tm, tauC, true) },
		func() (Tuning, error) { return AMIGO(tm, false) },
		func() (Tuning, error) { return AMIGO(tm, true) },
	} {
		if tu, err := f(); err == nil {
			r.Tunings = append(r.Tunings, tu)
		}
	}
	if len(r.Tunings) == 0 {
		t.fail(fmt.Errorf("%w: %+v", ErrModel, tm))
		return
	}
	t.result = r
	t.phase = PhaseDone
	t.out = t.cfg.Bias
}

// minShape is the least ratio of the fundamental's amplitude to half the peak-to-peak of a
// relay oscillation (a triangle gives 0.81, a sine 1, a square 1.27): below it the peaks are
// spikes (noise, a hottest-of-many switching sensors) and not the oscillation.
const minShape = 0.6

// relayModel is the FOPDT with static gain k (from the step) whose frequency response at w has
// the measured gain and phase (radians; the oscillation's point, near -pi): |k|/sqrt(1+(wT)^2) =
// gain gives T, wL + atan(wT) = -phase gives L. ok is false when no such model exists (the
// plant's gain at w is not below its static gain, or the phase lag is less than the lag's own).
func relayModel(k, gain, phase, w float64) (Model, bool) {
	if !finite(k) || !finite(gain) || !finite(phase) || !finite(w) || k == 0 || gain <= 0 || w <= 0 {
		return Model{}, false
	}
	r := math.Abs(k) / gain
	if r <= 1.001 {
		return Model{}, false
	}
	for phase > 0 { // an oscillation lags by (about) half a turn: -183° may arrive as +177°
		phase -= 2 * math.Pi
	}
	T := math.Sqrt(r*r-1) / w
	L := (-phase - math.Atan(w*T)) / w
	m := Model{K: k, T: T, L: L}
	if !finite(L) || L <= 0 || m.check(true) != nil {
		return Model{}, false
	}
	return m, true
}

// fundamental returns the complex amplitudes of the first harmonic of pv and of the output over
// [from, to], which spans n periods. The output is piecewise constant between samples, so its
// integral is exact; pv is integrated by the trapezoid rule.
func (t *Tuner) fundamental(from, to float64, n int) (y1, u1 complex128) {
	w := 2 * math.Pi * float64(n) / (to - from)
	i0 := sortSearch(t.samples, from)
	var ys, us complex128
	for i := i0; i+1 < len(t.samples) && t.samples[i].t < to; i++ {
		a, b := t.samples[i], t.samples[i+1]
		ta, tb := a.t-from, math.Min(b.t, to)-from
		ea, eb := cmplx.Exp(complex(0, -w*ta)), cmplx.Exp(complex(0, -w*tb))
		yb := b.y
		if b.t > to { // interpolate the end point
			yb = a.y + (b.y-a.y)*(to-a.t)/(b.t-a.t)
		}
		ys += complex((tb-ta)/2, 0) * (complex(a.y, 0)*ea + complex(yb, 0)*eb)
		// ∫ u e^{-jwt} dt = u (e^{-jw ta} - e^{-jw tb}) / (jw) for constant u.
		us += complex(a.u, 0) * (ea - eb) / complex(0, w)
	}
	scale := complex(2/(to-from), 0)
	return ys * scale, us * scale
}

// asym is mean high half-period / mean low half-period over the last n of each.
func asym(hi, lo []float64, n int) float64 {
	if len(hi) < n || len(lo) < n {
		return 0
	}
	l := mean(lo[len(lo)-n:])
	if l == 0 {
		return 0
	}
	return mean(hi[len(hi)-n:]) / l
}

func (t *Tuner) windowMean(from, to float64) (float64, int) {
	i := sortSearch(t.samples, from)
	sum, n := 0.0, 0
	for ; i < len(t.samples) && t.samples[i].t <= to; i++ {
		if t.samples[i].t > from {
			sum += t.samples[i].y
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

func sortSearch(s []sample, t float64) int {
	lo, hi := 0, len(s)
	for lo < hi {
		m := (lo + hi) / 2
		if s[m].t < t {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// crossTime is the time after t0 at which pv first reached frac of the change span from y0
// (linearly interpolated between samples), NaN if it has not.
func crossTime(ss []sample, t0, y0, span, frac float64) float64 {
	prevT, prevR := t0, 0.0
	for _, sm := range ss[sortSearch(ss, t0):] {
		r := (sm.y - y0) / span
		if r >= frac {
			if r == prevR {
				return sm.t - t0
			}
			return prevT + (frac-prevR)/(r-prevR)*(sm.t-prevT) - t0
		}
		prevT, prevR = sm.t, r
	}
	return math.NaN()
}

// holdTime is the longest time pv held one value between two changes (a sampled-and-held
// measurement), at least h; with fewer than two changes, the longest stretch seen without one.
func holdTime(ss []sample, h float64) float64 {
	var changes []float64
	for i := 1; i < len(ss); i++ {
		if ss[i].y != ss[i-1].y {
			changes = append(changes, ss[i].t)
		}
	}
	hold := h
	switch len(changes) {
	case 0:
		// constant: a plant at rest behind an exact (noise-free) measurement
	case 1:
		hold = max(hold, changes[0]-ss[0].t, ss[len(ss)-1].t-changes[0])
	default:
		for i := 1; i < len(changes); i++ {
			hold = max(hold, changes[i]-changes[i-1])
		}
	}
	return hold
}

// twoPoint fits a FOPDT to the step response by the 28.3 % / 63.2 % times (Smith's method):
// T = 1.5 (t63 - t28), L = t63 - T.
func twoPoint(ss []sample, t0, y0, y1, du float64) (Model, StepData, error) {
	span := y1 - y0
	cross := func(frac float64) float64 { return crossTime(ss, t0, y0, span, frac) }
	t28, t63 := cross(0.283), cross(0.632)
	sd := StepData{Y0: y0, Y1: y1, T28: t28, T63: t63}
	if !finite(t28) || !finite(t63) || t63 <= t28 {
		return Model{}, sd, fmt.Errorf("%w: step response times t28 %g s, t63 %g s", ErrNoResponse, t28, t63)
	}
	T := 1.5 * (t63 - t28)
	L := math.Max(0, t63-T)
	return Model{K: span / du, T: T, L: L}, sd, nil
}

// lineFit returns the slope of the least-squares line through ss and the residual std.
func lineFit(ss []sample) (slope, std float64) {
	n := float64(len(ss))
	var st, sy float64
	for _, s := range ss {
		st += s.t
		sy += s.y
	}
	mt, my := st/n, sy/n
	var stt, sty float64
	for _, s := range ss {
		stt += (s.t - mt) * (s.t - mt)
		sty += (s.t - mt) * (s.y - my)
	}
	if stt > 0 {
		slope = sty / stt
	}
	var r2 float64
	for _, s := range ss {
		r := s.y - my - slope*(s.t-mt)
		r2 += r * r
	}
	return slope, math.Sqrt(r2 / n)
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	v := slices.Clone(xs)
	slices.Sort(v)
	return v[len(v)/2]
}

func round3(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Round(x*1000) / 1000
	}
	return out
}

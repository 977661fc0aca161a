package pid

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/pid/pidtest"
)

func TestConfigValidationNamesField(t *testing.T) {
	good := Config{Kp: 2, Ti: 60, OutMin: 0, OutMax: 100, Action: Direct}
	cases := []struct {
		field string
		mod   func(c *Config)
	}{
		{"kp", func(c *Config) { c.Kp = 0 }},
		{"kp", func(c *Config) { c.Kp = -1 }},
		{"kp", func(c *Config) { c.Kp = math.NaN() }},
		{"ti_s", func(c *Config) { c.Ti = -1 }},
		{"td_s", func(c *Config) { c.Td = math.Inf(1) }},
		{"n", func(c *Config) { c.N = 0.5 }},
		{"tf_s", func(c *Config) { c.Tf = -2 }},
		{"b", func(c *Config) { c.B = Weight(1.5) }},
		{"c", func(c *Config) { c.C = -0.1 }},
		{"tt_s", func(c *Config) { c.Tt = -3 }},
		{"out_min", func(c *Config) { c.OutMin = math.NaN() }},
		{"out_max", func(c *Config) { c.OutMax = 0 }},
		{"rate_per_s", func(c *Config) { c.Rate = -1 }},
		{"action", func(c *Config) { c.Action = 0 }},
	}
	for _, tc := range cases {
		c := good
		tc.mod(&c)
		_, err := New(c)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field || !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want a ConfigError naming %s", tc.field, err, tc.field)
			continue
		}
		if !strings.HasPrefix(err.Error(), "pid: "+tc.field) {
			t.Errorf("error %q does not start with the field", err)
		}
		// Retune with a bad config must change nothing.
		p, _ := New(good)
		before := p.Config()
		if err := p.Retune(c); err == nil {
			t.Errorf("%s: Retune accepted a bad config", tc.field)
		}
		if after := p.Config(); after.Kp != before.Kp || after.Action != before.Action {
			t.Errorf("%s: failed Retune changed the config", tc.field)
		}
	}
	p, err := New(good)
	if err != nil {
		t.Fatal(err)
	}
	c := p.Config()
	if *c.B != 1 || c.C != 0 || c.N != DefaultN || c.Tt != 60 || c.MaxGap != DefaultMaxGap {
		t.Errorf("defaults: %+v", c)
	}
	c2 := good
	c2.Td = 15
	p, _ = New(c2)
	if got := p.Config().Tt; math.Abs(got-30) > 1e-12 {
		t.Errorf("Tt default with Td: %g, want sqrt(60*15)=30", got)
	}
	if got := p.Config().Tf; got != 1.5 {
		t.Errorf("Tf default: %g, want Td/N=1.5", got)
	}
}

func TestFromParallel(t *testing.T) {
	kp, ti, td := FromParallel(2, 0.1, 8)
	if kp != 2 || ti != 20 || td != 4 {
		t.Fatalf("got %g %g %g", kp, ti, td)
	}
	if _, ti, _ := FromParallel(2, 0, 0); ti != 0 {
		t.Fatalf("ki=0 should give no integral action, got Ti=%g", ti)
	}
}

// Setpoint step on each standard plant: the loop settles within (generously) the time the SIMC
// tuning predicts, with bounded overshoot, and the output respects the rate limit.
func TestSettlingOnStandardPlants(t *testing.T) {
	for _, c := range standardPlants() {
		t.Run(c.name, func(t *testing.T) {
			l := newLoop(t, c)
			y0 := l.pl.Y()
			step := 1.0
			if c.cfg.Action == Direct {
				step = -1.0 // a cooler inlet setpoint needs more fan
			}
			l.sp = y0 + step
			n0 := len(l.y)
			l.run(8 * c.predict)
			os, ts := stepMetrics(l.y[n0:], c.h, y0, l.sp, 0.02)
			t.Logf("overshoot %.1f %%, 2 %% settling %.1f s (predicted %.0f s)", 100*os, ts, c.predict)
			if ts < 0 || ts > 3*c.predict {
				t.Errorf("settling %.1f s, want <= 3 x predicted %.0f s", ts, c.predict)
			}
			if os > 0.25 {
				t.Errorf("overshoot %.1f %% > 25 %%", 100*os)
			}
			if c.cfg.Action == Direct && l.u[n0+int(c.predict/c.h)] <= c.u0 {
				t.Errorf("direct action: cooler setpoint did not raise the fan (%g)", l.u[n0+int(c.predict/c.h)])
			}
			checkRate(t, l.u, c.cfg.Rate, c.h)
		})
	}
}

// A load step is rejected: integral action brings the measurement back to the setpoint.
func TestLoadDisturbanceRejected(t *testing.T) {
	for _, c := range standardPlants() {
		t.Run(c.name, func(t *testing.T) {
			l := newLoop(t, c)
			l.run(c.predict)
			l.pl.Load = 5
			l.run(12 * c.predict)
			if e := math.Abs(l.pl.Y() - l.sp); e > 0.01 {
				t.Errorf("offset %.3g after load step", e)
			}
		})
	}
}

func checkRate(t *testing.T, u []float64, rate, h float64) {
	t.Helper()
	if rate <= 0 {
		return
	}
	for i := 1; i < len(u); i++ {
		if d := math.Abs(u[i] - u[i-1]); d > rate*h+1e-9 {
			t.Fatalf("step %d: output moved %.6g > rate*h %.6g", i, d, rate*h)
		}
	}
}

// windupCase saturates a PI loop on a setpoint step that the output limit makes slow.
func windupRun(t *testing.T, tt, rate, outMax float64) (l *loop, sp float64) {
	t.Helper()
	kp, ti := simcPI(1, 20, 2)
	c := plantCase{
		h: 0.5, mk: func() *pidtest.Plant { return pidtest.FOPDT(1, 20, 2, 0.05) },
		cfg: Config{Kp: kp, Ti: ti, Tt: tt, OutMin: 0, OutMax: outMax, Rate: rate, Action: Reverse},
	}
	l = newLoop(t, c)
	l.sp = 0.9 // needs u = 0.9 in steady state, but the transient wants far more than 1
	l.run(300)
	return l, l.sp
}

// After a long saturation the output leaves the limit as soon as the error changes sign, and the
// overshoot stays small; the same loop with anti-windup effectively off overshoots far more, which
// shows the scenario does exercise windup.
func TestAntiWindup(t *testing.T) {
	for _, rate := range []float64{0, 0.02} {
		l, sp := windupRun(t, 0, rate, 1)
		sat, cross := -1, -1
		for i, u := range l.u {
			if u == 1 && sat < 0 {
				sat = i
			}
			if sat >= 0 && l.y[i] > sp && cross < 0 {
				cross = i
			}
		}
		if sat < 0 || cross < 0 {
			t.Fatalf("rate %g: scenario did not saturate (%d) and cross (%d)", rate, sat, cross)
		}
		// The output must be off the limit no later than the first sample with a negative error.
		if l.u[cross] >= 1 {
			t.Errorf("rate %g: output still at the limit %g when the error changed sign (tick %d)", rate, l.u[cross], cross)
		}
		os, _ := stepMetrics(l.y, l.h, 0, sp, 0.02)
		lw, _ := windupRun(t, 1e9, rate, 1)
		osw, _ := stepMetrics(lw.y, lw.h, 0, sp, 0.02)
		t.Logf("rate %g: saturated %d ticks, overshoot %.1f %% with anti-windup, %.1f %% without", rate, cross-sat, 100*os, 100*osw)
		if os > 0.05 {
			t.Errorf("rate %g: overshoot %.1f %% > 5 %% after saturation", rate, 100*os)
		}
		if osw < 3*os+0.05 {
			t.Errorf("rate %g: scenario too weak: without anti-windup overshoot %.1f %% vs %.1f %%", rate, 100*osw, 100*os)
		}
		checkRate(t, l.u, rate, l.h)
	}
}

// A rate limit that binds while the magnitude limit does not must not wind up the integral either:
// the integrator is fed the difference between the rate-limited and the unlimited output.
func TestAntiWindupRateLimit(t *testing.T) {
	l, sp := windupRun(t, 0, 0.005, 10)
	lw, _ := windupRun(t, 1e9, 0.005, 10)
	os, _ := stepMetrics(l.y, l.h, 0, sp, 0.02)
	osw, _ := stepMetrics(lw.y, lw.h, 0, sp, 0.02)
	t.Logf("rate-limited step: overshoot %.1f %% with anti-windup, %.1f %% without", 100*os, 100*osw)
	if os > 0.05 || osw < 3*os+0.05 {
		t.Errorf("rate-limit windup: overshoot %.1f %% (without anti-windup %.1f %%)", 100*os, 100*osw)
	}
	checkRate(t, l.u, 0.005, l.h)
}

// A disturbance larger than the actuator can fight holds the output at its limit for a long time;
// when it goes away the output leaves the limit within a sample of the error changing sign.
func TestAntiWindupLongSaturation(t *testing.T) {
	c := standardPlants()[3] // cooling, direct acting, limits 20..100 %
	l := newLoop(t, c)
	l.pl.Load = -100 // heat load the fan cannot fight: inlet rises, fan pegs at 100 %
	l.run(3600)
	if l.u[len(l.u)-1] != 100 {
		t.Fatalf("fan not saturated: %g", l.u[len(l.u)-1])
	}
	// Back-calculation holds the integral near the limit (within a few % of the proportional term,
	// the discretisation's equilibrium); without it, an hour at +14 K would wind it up to thousands.
	if i := l.p.State().Integral; i > 110 {
		t.Errorf("integral wound up to %g while saturated at 100", i)
	}
	l.pl.Load = 0
	n0 := len(l.u)
	l.run(1800)
	cross := -1
	for i := n0; i < len(l.y); i++ {
		if l.y[i] < l.sp {
			cross = i
			break
		}
	}
	if cross < 0 {
		t.Fatal("inlet never came back below the setpoint")
	}
	if l.u[cross] >= 100 {
		t.Errorf("fan still at 100 %% when the inlet dropped below the setpoint")
	}
	under := 0.0
	for _, y := range l.y[n0:] {
		under = math.Max(under, l.sp-y)
	}
	if under > 2.0 {
		t.Errorf("undershoot %.2f K after the load went away", under)
	}
	checkRate(t, l.u, c.cfg.Rate, c.h)
}

// Setpoint weighting b < 1 reduces overshoot on setpoint steps (lag-dominated plant, PI).
func TestSetpointWeightingReducesOvershoot(t *testing.T) {
	over := map[float64]float64{}
	for _, b := range []float64{1, 0.5, 0} {
		c := standardPlants()[0]
		c.cfg.Ti = 20 // a faster integral makes a b = 1 step overshoot noticeably
		c.cfg.B = Weight(b)
		l := newLoop(t, c)
		l.sp += 1
		n0 := len(l.y)
		l.run(600)
		over[b], _ = stepMetrics(l.y[n0:], c.h, l.y[n0], l.sp, 0.02)
		t.Logf("b=%g overshoot %.1f %%", b, 100*over[b])
	}
	if !(over[0.5] < over[1]-0.02 && over[0] <= over[0.5]) {
		t.Errorf("overshoot not reduced by setpoint weighting: %v", over)
	}
}

// With C = 0 a setpoint step moves the output by exactly Kp*b*Δsp (no derivative kick);
// with C = 1 it adds the derivative kick.
func TestSetpointStepKick(t *testing.T) {
	for _, cw := range []float64{0, 1} {
		c := standardPlants()[2]
		c.cfg.B = Weight(0.5)
		c.cfg.C = cw
		l := newLoop(t, c)
		l.run(5)
		u0 := l.u[len(l.u)-1]
		l.sp += 1
		u1 := l.tick()
		cfg := l.p.Config()
		want := cfg.Kp * 0.5
		if cw == 1 {
			want += cfg.Kp * cfg.Td / (cfg.Tf + l.h)
		}
		if got := u1 - u0; math.Abs(got-want) > 1e-6 {
			t.Errorf("c=%g: setpoint step moved output by %g, want %g", cw, got, want)
		}
	}
}

// No bump when switching Manual -> Auto, Tracking -> Auto, Auto -> Manual, and on retune.
func TestBumplessTransfer(t *testing.T) {
	const eps = 1e-9
	c := standardPlants()[3] // cooling: Direct, limits 20..100, rate 5 %/s
	c.cfg.B = Weight(0.5)    // so the proportional term is non-zero even at steady state
	c.cfg.Td = 10
	p, err := New(c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	pl := c.mk()
	pl.Settle(40)
	l := &loop{t: t, p: p, pl: pl, h: c.h, sp: 24} // inlet 27 vs setpoint 24: large error
	if err := p.SetManual(40); err != nil {
		t.Fatal(err)
	}
	l.run(60)
	if u := l.u[len(l.u)-1]; u != 40 {
		t.Fatalf("manual output %g, want 40", u)
	}
	// Manual -> Auto.
	must(t, p.SetMode(Auto))
	if d := l.tick() - 40; math.Abs(d) > eps {
		t.Errorf("Manual->Auto bump %g", d)
	}
	l.run(30)
	// Auto -> Manual holds the output.
	last := l.u[len(l.u)-1]
	must(t, p.SetMode(Manual))
	if d := l.tick() - last; math.Abs(d) > eps {
		t.Errorf("Auto->Manual bump %g", d)
	}
	checkRate(t, l.u[1:], c.cfg.Rate, c.h) // u[0] is the first manual tick
	// Tracking: follows the read-back exactly (no rate limit: it is not a command), then Auto
	// continues from it.
	for _, rb := range []float64{70, 71.5, 73} {
		must(t, p.Track(rb))
		if u := l.tick(); u != rb {
			t.Errorf("tracking output %g, want %g", u, rb)
		}
	}
	n0 := len(l.u)
	must(t, p.SetMode(Auto))
	if d := l.tick() - 73; math.Abs(d) > eps {
		t.Errorf("Tracking->Auto bump %g", d)
	}
	// Track then Auto with no update in between still starts from the read-back.
	checkRate(t, l.u[n0-1:], c.cfg.Rate, c.h)
	must(t, p.Track(55))
	must(t, p.SetMode(Auto))
	if d := l.tick() - 55; math.Abs(d) > eps {
		t.Errorf("Track+Auto without a tracking tick: bump %g", d)
	}
	n0 = len(l.u)
	// Retune at steady state: Kp doubled, Ti halved, b changed. Without the bumpless correction
	// the proportional term would jump by about Kp*(b*sp - pv) (several %).
	l.run(3000)
	last = l.u[len(l.u)-1]
	prev := l.u[len(l.u)-2]
	nc := c.cfg
	nc.Kp *= 2
	nc.Ti /= 2
	nc.B = Weight(0.8)
	must(t, p.Retune(nc))
	if d := l.tick() - last; math.Abs(d) > math.Max(1e-6, 2*math.Abs(last-prev)) {
		t.Errorf("retune bump %g (previous step %g)", d, last-prev)
	}
	checkRate(t, l.u[n0-1:], c.cfg.Rate, c.h)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Retuning every tick with the same gains (gain scheduling) must not change the behaviour, and a
// retune during a transient must leave the first output after it close to what the old tuning
// would have produced.
func TestRetuneEveryTickIsTransparent(t *testing.T) {
	c := standardPlants()[2]
	c.cfg.B = Weight(0.7)
	a, b := newLoop(t, c), newLoop(t, c)
	a.sp += 1
	b.sp += 1
	for i := range 400 {
		ua := a.tick()
		must(t, b.p.Retune(c.cfg))
		ub := b.tick()
		if math.Abs(ua-ub) > 1e-9 {
			t.Fatalf("tick %d: retuned loop %g vs plain %g", i, ub, ua)
		}
	}
	// Mid-transient retune: compare with the un-retuned loop at the same instant.
	a.sp -= 0.5
	b.sp -= 0.5
	a.run(1)
	b.run(1)
	nc := c.cfg
	nc.Kp *= 1.5
	nc.Td *= 0.5
	must(t, b.p.Retune(nc))
	last := b.u[len(b.u)-1]
	ua, ub := a.tick(), b.tick()
	if math.Abs(ub-last) > 2*math.Abs(ua-last)+1e-6 {
		t.Errorf("retune mid-transient: first output %g vs %g without retune (step %g)", ub, ua, ua-last)
	}
}

// The rate limit holds on every step in Auto and Manual, across mode changes.
func TestRateLimitEveryStep(t *testing.T) {
	c := standardPlants()[3]
	c.cfg.Rate = 0.5
	l := newLoop(t, c)
	l.sp -= 3 // fan wants to jump up
	l.run(200)
	must(t, l.p.SetManual(20))
	l.run(200)
	must(t, l.p.SetMode(Auto))
	l.sp += 6
	l.run(400)
	checkRate(t, l.u, c.cfg.Rate, c.h)
	// Manual reaches its target.
	must(t, l.p.SetManual(90))
	l.run(400)
	if u := l.u[len(l.u)-1]; u != 90 {
		t.Errorf("manual ramp ended at %g, want 90", u)
	}
	checkRate(t, l.u, c.cfg.Rate, c.h)
}

// Output limits hold in every mode; manual and tracked values are clamped.
func TestLimits(t *testing.T) {
	p, _ := New(Config{Kp: 5, Ti: 10, OutMin: 20, OutMax: 100, Action: Direct})
	now := epoch
	must(t, p.SetManual(5))
	if u := p.Update(25, 25, now); u != 20 {
		t.Errorf("manual below minimum gave %g", u)
	}
	must(t, p.Track(150))
	if u := p.Update(25, 25, now.Add(time.Second)); u != 100 {
		t.Errorf("tracking above maximum gave %g", u)
	}
	must(t, p.SetMode(Auto))
	for i := range 100 {
		if u := p.Update(25, 10, now.Add(time.Duration(i+2)*time.Second)); u < 20 || u > 100 {
			t.Fatalf("auto output %g outside limits", u)
		}
	}
	if u := p.Output(); u != 20 {
		t.Errorf("a cold inlet should drive the fan to its minimum, got %g", u)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	p, _ := New(Config{Kp: 5, Ti: 10, OutMin: 0, OutMax: 100, Action: Direct})
	must(t, p.Track(50))
	must(t, p.SetMode(Auto))
	p.Update(25, 26, epoch)
	s := p.State()
	for _, v := range []float64{math.NaN(), math.Inf(1)} {
		if u := p.Update(v, 26, epoch.Add(time.Second)); u != s.Out {
			t.Errorf("NaN setpoint moved the output to %g", u)
		}
		if u := p.Update(25, v, epoch.Add(time.Second)); u != s.Out {
			t.Errorf("NaN measurement moved the output to %g", u)
		}
		if err := p.SetManual(v); !errors.Is(err, ErrValue) {
			t.Errorf("SetManual(%g): %v", v, err)
		}
		if err := p.Track(v); !errors.Is(err, ErrValue) {
			t.Errorf("Track(%g): %v", v, err)
		}
	}
	if err := p.SetMode(Mode(7)); !errors.Is(err, ErrMode) {
		t.Errorf("SetMode(7): %v", err)
	}
	if err := p.Restore(State{Mode: Auto, Out: math.NaN()}); !errors.Is(err, ErrValue) {
		t.Errorf("Restore NaN: %v", err)
	}
	if got := p.State(); got != s || p.Mode() != Auto {
		t.Errorf("bad input changed the state: %+v -> %+v", s, got)
	}
	if p.Rejected() != 4 {
		t.Errorf("rejected %d, want 4", p.Rejected())
	}
}

// Time: a repeated instant changes nothing, a clock going backwards or a long gap restarts the time
// base without integrating over it.
func TestTimeBase(t *testing.T) {
	p, _ := New(Config{Kp: 1, Ti: 10, OutMin: -100, OutMax: 100, Action: Reverse, MaxGap: time.Minute})
	must(t, p.SetMode(Auto))
	p.Update(1, 0, epoch)
	u1 := p.Update(1, 0, epoch.Add(time.Second))
	if u := p.Update(1, 0, epoch.Add(time.Second)); u != u1 {
		t.Errorf("same instant changed output %g -> %g", u1, u)
	}
	i := p.State().Integral
	p.Update(1, 0, epoch.Add(time.Hour)) // gap: no integration over an hour
	if got := p.State().Integral; math.Abs(got-i) > 1e-9 {
		t.Errorf("integrated over a gap: %g -> %g", i, got)
	}
	p.Update(1, 0, epoch) // backwards: restart
	if got := p.State().Integral; math.Abs(got-i) > 1e-9 {
		t.Errorf("integrated over a backward step: %g -> %g", i, got)
	}
	before := p.State().Integral
	p.Update(1, 0, epoch.Add(time.Second))
	if got := p.State().Integral; math.Abs(got-before-0.1) > 1e-9 {
		t.Errorf("after restart one second of error 1 should add Kp*1/Ti = 0.1, got %g", got-before)
	}
	// Step with explicit dt behaves like Update.
	q, _ := New(Config{Kp: 1, Ti: 10, OutMin: -100, OutMax: 100, Action: Reverse})
	must(t, q.SetMode(Auto))
	r, _ := New(q.Config())
	must(t, r.SetMode(Auto))
	q.Step(1, 0, 0)
	r.Update(1, 0, epoch)
	for k := 1; k < 20; k++ {
		a := q.Step(1, 0.05*float64(k), 0.5)
		b := r.Update(1, 0.05*float64(k), epoch.Add(time.Duration(k)*500*time.Millisecond))
		if a != b {
			t.Fatalf("Step %g vs Update %g", a, b)
		}
	}
}

// State survives a JSON round trip and a restored controller carries on where the old one was.
func TestStateRestore(t *testing.T) {
	c := standardPlants()[3]
	l := newLoop(t, c)
	l.sp -= 1
	l.run(120)
	js, err := json.Marshal(l.p.State())
	must(t, err)
	if !strings.Contains(string(js), `"mode":"auto"`) {
		t.Errorf("state JSON %s", js)
	}
	var s State
	must(t, json.Unmarshal(js, &s))
	q, err := New(c.cfg)
	must(t, err)
	must(t, q.Restore(s))
	if q.Mode() != Auto || q.Output() != l.p.Output() || q.State().Integral != l.p.State().Integral {
		t.Fatalf("restored %+v, want %+v", q.State(), l.p.State())
	}
	// The restored loop continues; its first step holds (rate limit, unknown dt), then it controls.
	y := l.pl.Y()
	u1 := q.Update(l.sp, y, epoch)
	if u1 != s.Out {
		t.Errorf("first update after restore moved the output %g -> %g", s.Out, u1)
	}
	l.p = q
	l.run(1200)
	if e := math.Abs(l.pl.Y() - l.sp); e > 0.02 {
		t.Errorf("restored loop did not settle: error %g", e)
	}
	var bad Mode
	if err := bad.UnmarshalText([]byte("autopilot")); !errors.Is(err, ErrMode) {
		t.Errorf("bad mode text: %v", err)
	}
}

func BenchmarkUpdate(b *testing.B) {
	p, _ := New(Config{Kp: 8, Ti: 120, Td: 10, OutMin: 20, OutMax: 100, Rate: 2, Action: Direct})
	_ = p.Track(50)
	_ = p.SetMode(Auto)
	now := epoch
	for i := range b.N {
		now = now.Add(2 * time.Second)
		p.Update(24, 24+float64(i%7)*0.1, now)
	}
}

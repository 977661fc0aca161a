// Package autotune identifies a loop's process with a step and a relay experiment (Åström and
// Hägglund) and turns the result into PID gains for control/pid by the SIMC and AMIGO rules. It is
// pure and tick driven: the caller passes each measurement with the time from its injected
// monotonic clock and applies the output it gets back.
//
// # The experiment
//
//  1. Baseline (Config.Baseline, default 1 min): the output holds Bias; the mean pv (y0), its noise
//     (residual std about a fitted line) and drift are measured. The plant should be at rest.
//  2. Step: the output moves to Bias+StepSize (default +D: for a fan, more air). When pv has
//     settled (the mean over the last sixth of the time since the step differs from the sixth
//     before by under 1 % of the change), a first-order-plus-dead-time model K e^{-Ls}/(1+Ts) is
//     fitted by the 28.3 %/63.2 % two-point method (T = 1.5 (t63 - t28), L = t63 - T). The sign of
//     K sets the relay's and the tuning's direction (K < 0: direct acting, as a cooling loop).
//  3. Relay: around the settled level, the output switches between Bias+StepSize ± D with
//     hysteresis Eps on pv (default 3 x the baseline noise). Periods are timed between switches to
//     low; when MinCycles (default 3) successive periods, after the first, agree within Tolerance
//     (10 %) in period and amplitude, Pu is their mean and
//     Ku = 4 D / (pi sqrt(a^2 - Eps^2)), with a the amplitude of pv's fundamental (Fourier over
//     exactly those periods). Using the fundamental instead of the peak removes most of the
//     describing-function error (the peak-based KuPeak, also reported, reads about 25 % low on a
//     lag-dominated plant whose pv is near triangular).
//
// When done, Step returns Bias (the output before the test) and done = true; Result holds the date
// (the now of the final Step), a summary of the data (baseline, step, relay periods and
// amplitudes, samples), Ku, Pu, the model, its own ultimate gain as a cross-check, and the gains
// of four rules ("simc-pi", "simc-pid", "amigo-pi", "amigo-pid"). Result serialises to JSON and
// TOML. The tunings are computed for the sampled loop: L + h/2 with h the median tick.
//
// Failures end the experiment with Bias as the output and an error wrapping a sentinel:
// ErrTimeout, ErrNoResponse, ErrNoOscillation (the relay output stayed on one side longer than
// NoSwitch, default 5 (T+L): d too small for the load, or the plant saturates), ErrInconsistent,
// ErrDeviation (pv strayed more than MaxDev from its start level: set it, a data hall has limits),
// ErrBadPV, ErrAborted. The message says what was seen and in which phase.
//
// # Rules
//
// SIMC (Skogestad 2003; PID per Grimholt and Skogestad 2012) with tau_c = L by default (tight
// control with good robustness, floored at T/10), or Config.TauC for a smoother loop; AMIGO
// (Åström and Hägglund 2004) with its setpoint weight b = 0 for lag-dominated plants. See SIMC and
// AMIGO for the formulas. Tuning.Apply writes the gains into a pid.Config, keeping its limits.
//
// # Usage
//
//	tu, err := autotune.New(autotune.Config{Bias: fanNow, D: 10, OutMin: 30, OutMax: 100, MaxDev: 2, Timeout: 2 * time.Hour})
//	for now := range ticks {
//		out, done := tu.Step(zoneInletC, now)
//		writeFan(out)
//		show(tu.Progress()) // phase, periods seen, steady of needed
//		if done { break }
//	}
//	res, err := tu.Result()
//	tn, _ := res.Tuning("amigo-pi")
//	cfg := tn.Apply(loopConfig)   // then pid.Retune(cfg), and store res (TOML) with the config
//
// Caveats: the FOPDT fit assumes the plant rests at Bias before the step and that no load changes
// during the test (Relay.Asymmetry far from 1 and KuModel far from Ku are the tell-tales). A relay
// with hysteresis measures the plant where its phase is -180° + asin(Eps/a) and the tick adds
// about h/2 of delay, so Ku reads low and Pu long by a few % (about -13 % and +16 % with Eps at
// 12 % of a and h at 7 % of L); keep Eps small against a.
package autotune

// Package autotune identifies a loop's process with a step and a relay experiment (Åström and
// Hägglund) and turns the result into PID gains for control/pid by the SIMC and AMIGO rules. It is
// pure and tick driven: the caller passes each measurement with the time from its injected
// monotonic clock and applies the output it gets back.
//
// # The experiment
//
//  1. Baseline (Config.Baseline, default 1 min): the output holds Bias; the mean pv (y0), its noise
//     (residual std about a fitted line) and drift are measured over the last Baseline. While the
//     drift over that window exceeds twice the noise (the plant still moving, e.g. after the loop
//     that ran before), the baseline goes on, up to RestWait (default 4 x Baseline). It also
//     measures pv's hold time: a measurement that is sampled and held (a zone's hottest sensor,
//     each reporting every 30 s) shows one value for that long.
//  2. Step: the output moves to Bias+StepSize (default +D: for a fan, more air). pv has settled
//     when the mean over the last sixth of the time since the step differs from the sixth before
//     by under 1 % of the change (or twice the noise), each sixth spans two hold times, and the
//     time since the step is four times the time to 63 % of the change. The static gain K is the
//     settled change over the step; the two-point method (T = 1.5 (t63 - t28), L = t63 - T) gives
//     StepModel. The sign of K sets the relay's and the tuning's direction (K < 0: direct acting,
//     as a cooling loop).
//  3. Relay: around the settled level, the output switches between Bias+StepSize ± D with
//     hysteresis Eps on pv (default 3 x the baseline noise). Periods are timed between switches to
//     low; each period's first harmonics of pv and output are computed. The oscillation is steady
//     when MinCycles (default 3) successive periods, after the first, agree within Tolerance (10 %;
//     half a hold time at least for periods, twice the noise for amplitudes) in period and in the
//     amplitude of pv's fundamental, or, failing that, when the means over the last k periods and
//     the k before agree (k from MinCycles up: a held or hottest-of-many pv jitters period by
//     period); and pv's fundamental is at least 0.6 of its half peak-to-peak (not noise spikes).
//     Pu is the mean period and Ku = 4 D / (pi sqrt(a^2 - Eps^2)), with a the mean amplitude of
//     pv's fundamental; this removes most of the describing-function error (the peak-based
//     KuPeak, also reported, reads about 25 % low on a lag-dominated plant whose pv is near
//     triangular). The mean of the periods' frequency responses (Relay.Gain, Relay.PhaseDeg) and
//     K give RelayModel: the FOPDT K e^{-Ls}/(1+Ts) with that response at 2 pi/Pu. Averaged over
//     cycles, it is not disturbed by a held pv, which moves the step's two instants by up to a
//     hold time; the tunings use it (StepModel when no FOPDT matches the point).
//
// When done, Step returns Bias (the output before the test) and done = true; Result holds the date
// (the now of the final Step), a summary of the data (baseline, step, relay periods and
// amplitudes, samples), Ku, Pu, the model, its own ultimate gain as a cross-check, and the gains
// of four rules ("simc-pi", "simc-pid", "amigo-pi", "amigo-pid"; SIMC's tau_c is TauC, or
// TauCRatio x L). Result serialises to JSON and TOML. The tunings are computed for the sampled
// loop: L + h/2 with h the median tick.
//
// Failures end the experiment with Bias as the output and an error wrapping a sentinel:
// ErrTimeout, ErrNoResponse, ErrNoOscillation (the relay output stayed on one side longer than
// NoSwitch, default 5 (T+L): d too small for the load, or the plant saturates), ErrInconsistent,
// ErrDeviation (pv strayed more than MaxDev from its start level, or MaxAbove above it, MaxBelow
// below it: set them, a data hall has limits), ErrBadPV, ErrAborted. The message says what was
// seen and in which phase.
//
// # Rules
//
// SIMC (Skogestad 2003; PID per Grimholt and Skogestad 2012) with tau_c = L by default (tight
// control with good robustness, floored at T/10), or Config.TauC (TauCRatio x L) for a smoother
// loop; AMIGO
// (Åström and Hägglund 2004) with its setpoint weight b = 0 for lag-dominated plants. See SIMC and
// AMIGO for the formulas. Tuning.Apply writes the gains into a pid.Config, keeping its limits.
//
// # Usage
//
// Example tunes a fan loop on a linear plant: the caller feeds pv and applies the output on every
// tick until done, then takes a Tuning from the Result and applies it to the loop's pid.Config
// (then pid.Retune, and store the Result as TOML with the configuration). Progress tells a UI
// the phase and how many relay periods are steady.
//
// Caveats: the FOPDT fit assumes the plant rests at Bias before the step (the baseline waits for
// rest, up to RestWait) and that no load changes during the test (Relay.Asymmetry far from 1,
// KuModel far from Ku and StepModel far from Model are the tell-tales). A relay with hysteresis
// measures the plant where its phase is -180° + asin(Eps/a) and the tick adds about h/2 of delay,
// so Ku reads low and Pu long by a few % (about -13 % and +16 % with Eps at 12 % of a and h at 7 %
// of L); RelayModel uses the measured phase and is not biased by it. A measurement held between
// reports is part of the loop the relay sees: its hold (about half of it as dead time) is in the
// model, as it is in the loop the tuning is for.
package autotune

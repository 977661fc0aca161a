package autotune

import (
	"fmt"
	"time"
)

// BaselineData summarises the phase before the step.
type BaselineData struct {
	Y0    float64 `json:"y0" toml:"y0"`         // mean pv at Bias
	Noise float64 `json:"noise" toml:"noise"`   // residual std about a line
	Drift float64 `json:"drift" toml:"drift"`   // slope, pv units per second (should be ~0)
	Hold  float64 `json:"hold_s" toml:"hold_s"` // longest time pv held one value (sampled-and-held measurement)
	// Waited is how long past Config.Baseline the baseline waited for pv to come to rest.
	Waited float64 `json:"waited_s" toml:"waited_s"`
}

// StepData summarises the step test the model came from.
type StepData struct {
	U0      float64 `json:"u0" toml:"u0"`
	U1      float64 `json:"u1" toml:"u1"`
	Y0      float64 `json:"y0" toml:"y0"`
	Y1      float64 `json:"y1" toml:"y1"`               // settled pv after the step
	T28     float64 `json:"t28_s" toml:"t28_s"`         // time to 28.3 % of the change, from the step
	T63     float64 `json:"t63_s" toml:"t63_s"`         // time to 63.2 %
	Settled float64 `json:"settled_s" toml:"settled_s"` // time until declared settled
}

// RelayData summarises the relay experiment.
type RelayData struct {
	D         float64 `json:"d" toml:"d"`
	Eps       float64 `json:"eps" toml:"eps"`
	Bias      float64 `json:"bias" toml:"bias"`           // relay centre output
	Ref       float64 `json:"ref" toml:"ref"`             // pv level the relay switched around
	Amplitude float64 `json:"amplitude" toml:"amplitude"` // half peak-to-peak of pv, mean of the steady periods
	// Fundamental is the amplitude of pv's first harmonic over the steady periods: the a used for Ku.
	Fundamental float64 `json:"fundamental" toml:"fundamental"`
	// Gain and PhaseDeg: the plant's frequency response at the oscillation, from the first
	// harmonics of pv and the output (phase near -180 + asin(eps/a)).
	Gain     float64 `json:"gain" toml:"gain"`
	PhaseDeg float64 `json:"phase_deg" toml:"phase_deg"`
	// KuPeak is the textbook estimate from the peak amplitude; it reads about 20 % low on
	// lag-dominated plants whose pv is near triangular, and high on delay-dominated ones.
	KuPeak     float64   `json:"ku_peak" toml:"ku_peak"`
	Period     float64   `json:"period_s" toml:"period_s"`
	Cycles     int       `json:"cycles" toml:"cycles"` // periods observed in all
	Periods    []float64 `json:"periods_s" toml:"periods_s"`
	Amplitudes []float64 `json:"amplitudes" toml:"amplitudes"`
	Asymmetry  float64   `json:"asymmetry" toml:"asymmetry"` // high/low half-period ratio; far from 1: a load or nonlinearity
}

// Result is a finished experiment: where it came from and the gains it gives. It serialises to
// JSON and TOML so that it can be stored with the loop's configuration.
type Result struct {
	Date         time.Time    `json:"date" toml:"date"` // the now of the final Step
	DurationS    float64      `json:"duration_s" toml:"duration_s"`
	Samples      int          `json:"samples" toml:"samples"`
	SamplePeriod float64      `json:"sample_period_s" toml:"sample_period_s"` // median
	Baseline     BaselineData `json:"baseline" toml:"baseline"`
	Step         StepData     `json:"step" toml:"step"`
	Relay        RelayData    `json:"relay" toml:"relay"`
	// Ku = 4d / (pi sqrt(a^2 - eps^2)) and Pu from the relay (Åström-Hägglund), with a the
	// amplitude of pv's fundamental rather than its peak, which removes most of the
	// describing-function error of non-sinusoidal waveforms.
	Ku float64 `json:"ku" toml:"ku"`
	Pu float64 `json:"pu_s" toml:"pu_s"`
	// Model is the FOPDT the tunings come from, ModelFrom "relay" or "step": RelayModel, or
	// StepModel when there is no RelayModel. KuModel is its ultimate gain, a cross-check of Ku
	// (the relay's hysteresis puts Ku a few % below it).
	Model     Model   `json:"model" toml:"model"`
	ModelFrom string  `json:"model_from" toml:"model_from"`
	KuModel   float64 `json:"ku_model" toml:"ku_model"`
	// StepModel is the two-point (28.3 %/63.2 %) fit of the step response. It reads the dead time
	// and time constant from two instants, so a measurement that is sampled and held (a zone's
	// hottest sensor, reported every 30 s) moves them by up to a hold time: far from Model means
	// that, or a plant that is not first order.
	StepModel Model `json:"step_model" toml:"step_model"`
	// RelayModel is the static gain of the step with the time constant and dead time that give
	// the plant's measured frequency response at the oscillation (Relay.Gain, Relay.PhaseDeg):
	// averaged over the relay's cycles, it is not disturbed by a held measurement. Zero when no
	// FOPDT has that response (its gain there not below the static gain, or too little lag).
	RelayModel Model    `json:"relay_model" toml:"relay_model"`
	TauC       float64  `json:"tau_c_s" toml:"tau_c_s"` // the tau_c the SIMC tunings used
	Tunings    []Tuning `json:"tunings" toml:"tunings"`
}

// Tuning returns the tuning of the named rule ("simc-pi", "simc-pid", "amigo-pi", "amigo-pid").
func (r Result) Tuning(rule string) (Tuning, error) {
	for _, t := range r.Tunings {
		if t.Rule == rule {
			return t, nil
		}
	}
	return Tuning{}, fmt.Errorf("%w: no %q tuning in the result", ErrModel, rule)
}

// Summary is a one-line description of the data, for a configuration's comment or "data" field.
func (r Result) Summary() string {
	return fmt.Sprintf("relay d=%.3g eps=%.3g a=%.3g Pu=%.1fs Ku=%.3g (model %.3g); step %.3g->%.3g: K=%.3g; model (%s) T=%.1fs L=%.1fs, step fit T=%.1fs L=%.1fs; %d samples at %.3gs, %.0fs",
		r.Relay.D, r.Relay.Eps, r.Relay.Amplitude, r.Pu, r.Ku, r.KuModel, r.Step.U0, r.Step.U1,
		r.Model.K, r.ModelFrom, r.Model.T, r.Model.L, r.StepModel.T, r.StepModel.L, r.Samples, r.SamplePeriod, r.DurationS)
}

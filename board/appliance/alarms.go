package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/board/ops"
	"github.com/coldaisle/coldaisle/control/alarms"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/drivers/syslog"
	"github.com/coldaisle/coldaisle/storage"
)

// sdID is the structured-data ID of an alarm in syslog. 32473 is the enterprise number RFC 5612
// reserves for documentation; a site whose collector filters on it may keep it, and a vendor build
// would register its own.
const sdID = "alarm@32473"

// alarmHub is the one list of alarms: the engine's (zones, units), the controller's own
// (storage, configuration) and the sensors' batteries, in a control/alarms registry. Every change
// goes to the log, to the syslog collector if there is one, and is visible on the console, the
// status page, the metrics and the BMS server.
type alarmHub struct {
	mu  sync.Mutex
	reg *alarms.Registry
	sys *syslog.Sender // nil: no collector configured
	a   *App
}

func newAlarmHub(a *App, maxShelve time.Duration) *alarmHub {
	return &alarmHub{reg: alarms.New(maxShelve), a: a}
}

func (h *alarmHub) setMaxShelve(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reg.SetMaxShelve(d)
}

// send hands effects to the log and the collector (never blocking: the sender drops when full).
func (h *alarmHub) send(effs []alarms.Effect) {
	for _, e := range effs {
		al := e.Alarm
		level := slog.LevelWarn
		if e.Kind != alarms.EffectRaised && e.Kind != alarms.EffectUpdated {
			level = slog.LevelInfo
		}
		if l := h.a.opts.Log; l != nil {
			l.Log(context.Background(), level, "alarm", "effect", e.Kind.String(), "key", al.Key, "severity", al.Severity.String(), "text", al.Text, "by", e.By)
		} else {
			h.a.logAt(level, "alarm %s", e.Text())
		}
		if h.sys != nil {
			h.sys.Send(syslog.Message{Time: time.Now(), Severity: e.Syslog(), MsgID: e.Kind.String(), Text: e.Text(),
				SD: []syslog.SDElement{{ID: sdID, Params: []syslog.SDParam{{Name: "key", Value: al.Key}, {Name: "severity", Value: al.Severity.String()},
					{Name: "source", Value: al.Source}, {Name: "kind", Value: al.Kind}, {Name: "by", Value: e.By}}}}})
		}
	}
}

// engineEvents feeds the engine's alarm and clear events; the shelves that ran out end here too.
func (h *alarmHub) engineEvents(evs []engine.Event, now time.Time) {
	h.mu.Lock()
	var effs []alarms.Effect
	for _, ev := range evs {
		effs = append(effs, alarms.FromEngine(h.reg, ev)...)
	}
	effs = append(effs, h.reg.Tick(now)...)
	h.mu.Unlock()
	h.send(effs)
}

func (h *alarmHub) raise(source, kind, text string) {
	h.mu.Lock()
	effs := h.reg.Raise(alarms.KeyOf(source, kind), source, kind, text, time.Now())
	h.mu.Unlock()
	h.send(effs)
}

func (h *alarmHub) clear(source, kind string) {
	h.mu.Lock()
	effs := h.reg.Clear(alarms.KeyOf(source, kind), time.Now())
	h.mu.Unlock()
	h.send(effs)
}

func (h *alarmHub) get(source, kind string) (alarms.Alarm, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reg.Get(alarms.KeyOf(source, kind))
}

func (h *alarmHub) active() []alarms.Alarm {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reg.Active()
}

// act runs an operator's ack, shelve or unshelve and sends its effects.
func (h *alarmHub) act(fn func(r *alarms.Registry) ([]alarms.Effect, error)) error {
	h.mu.Lock()
	effs, err := fn(h.reg)
	h.mu.Unlock()
	if err != nil {
		return err
	}
	h.send(effs)
	return nil
}

// batteries raises a warning per sensor node whose battery is below the site's threshold (and
// clears it once the node reports a good one).
func (h *alarmHub) batteries(batt map[string]uint16, lowV float64) {
	for _, node := range slices.Sorted(maps.Keys(batt)) {
		v := float64(batt[node]) / 1000
		if v < lowV {
			h.raise("node "+node, "battery", fmt.Sprintf("battery low: %.2f V (below %.2f V); change it while the node still reports", v, lowV))
		} else if _, ok := h.get("node "+node, "battery"); ok {
			h.clear("node "+node, "battery")
		}
	}
}

func opsAlarm(a alarms.Alarm) ops.Alarm {
	return ops.Alarm{Key: a.Key, Source: a.Source, Kind: a.Kind, Severity: a.Severity.String(), Text: a.Text, Raised: a.Raised,
		AckedBy: a.AckedBy, AckedAt: a.AckedAt, ShelvedUntil: a.ShelvedUntil}
}

// ---- console.AlarmDesk ----

// ActiveAlarms implements console.AlarmDesk.
func (b *backend) ActiveAlarms(context.Context) ([]console.Alarm, error) {
	var out []console.Alarm
	for _, a := range b.a.hub.active() {
		out = append(out, console.Alarm{Key: a.Key, Source: a.Source, Kind: a.Kind, Severity: a.Severity.String(), Text: a.Text,
			Raised: a.Raised, AckedBy: a.AckedBy, AckedAt: a.AckedAt, ShelvedBy: a.ShelvedBy, ShelvedUntil: a.ShelvedUntil})
	}
	return out, nil
}

func deskErr(err error) error {
	if err != nil && errors.Is(err, alarms.ErrNoAlarm) {
		return fmt.Errorf("%w: %v", console.ErrNoAlarm, err)
	}
	return err
}

// AckAlarm implements console.AlarmDesk.
func (b *backend) AckAlarm(_ context.Context, key, user string) error {
	return deskErr(b.a.hub.act(func(r *alarms.Registry) ([]alarms.Effect, error) { return r.Ack(key, user, time.Now()) }))
}

// ShelveAlarm implements console.AlarmDesk.
func (b *backend) ShelveAlarm(_ context.Context, key, user string, d time.Duration) error {
	return deskErr(b.a.hub.act(func(r *alarms.Registry) ([]alarms.Effect, error) { return r.Shelve(key, user, d, time.Now()) }))
}

// UnshelveAlarm implements console.AlarmDesk.
func (b *backend) UnshelveAlarm(_ context.Context, key, user string) error {
	return deskErr(b.a.hub.act(func(r *alarms.Registry) ([]alarms.Effect, error) { return r.Unshelve(key, user, time.Now()) }))
}

// alarmEvent is how a controller alarm is kept in the event log.
func (a *App) alarmEvent(key, text string, raised bool) {
	if raised {
		a.event(storage.KindAlarm, "controller", "alarm "+key+": "+text)
	} else {
		a.event(storage.KindAlarm, "controller", "cleared "+key)
	}
}

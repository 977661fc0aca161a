package bms

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/board/ops"
	"github.com/coldaisle/coldaisle/drivers/modbus"
)

// Options shape the image and the server. Zero values take the defaults.
type Options struct {
	// UnitID is the server's Modbus unit id, 1..247 (default 1).
	UnitID int
	// StaleAfter sets the header's stale bit when the latest view is older than this (default
	// three control periods, at least 10 s).
	StaleAfter time.Duration
	// MaxConns and IdleTimeout bound the server (defaults: modbus.ServerOptions').
	MaxConns    int
	IdleTimeout time.Duration
	// Now is the clock for the ages (default time.Now).
	Now func() time.Time
}

// Image is the register image of the latest published View, the same in holding and input
// registers. It implements modbus.Image.
type Image struct {
	p          *ops.Publisher
	now        func() time.Time
	staleAfter time.Duration

	mu   sync.Mutex
	view *ops.View // what regs was built from (nil: before the first view)
	sec  int64     // and the second of now it was built at: the ages move once a second
	regs []uint16
}

// NewImage serves p's latest View.
func NewImage(p *ops.Publisher, o Options) (*Image, error) {
	if p == nil {
		return nil, errors.New("bms: no publisher")
	}
	if o.StaleAfter < 0 {
		return nil, fmt.Errorf("bms: stale_after %v is negative", o.StaleAfter)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Image{p: p, now: o.Now, staleAfter: o.StaleAfter, sec: -1 << 62}, nil
}

// Registers returns count registers from addr of the image as of now; both tables are the same
// image. Addresses past Size get exception 0x02; reserved addresses inside read 0.
func (m *Image) Registers(table modbus.Table, addr, count uint16) ([]uint16, error) {
	if table != modbus.Holding && table != modbus.Input {
		return nil, modbus.ExceptionError{Code: modbus.ExIllegalFunction}
	}
	if int(addr)+int(count) > Size {
		return nil, modbus.ExceptionError{Code: modbus.ExIllegalDataAddress}
	}
	regs := m.snapshot()
	return append([]uint16(nil), regs[addr:int(addr)+int(count)]...), nil
}

// snapshot returns the whole image for the latest view at this second, building it when either
// changed. The slice is never modified after it is returned.
func (m *Image) snapshot() []uint16 {
	v := m.p.Latest()
	now := m.now()
	sec := now.Unix()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.regs != nil && m.view == v && m.sec == sec {
		return m.regs
	}
	m.regs, m.view, m.sec = m.build(v, now), v, sec
	return m.regs
}

// Build returns the whole image (Size registers) of v at now; v nil is the image before the
// first view (state "starting", no view available, every block absent).
func (m *Image) build(v *ops.View, now time.Time) []uint16 {
	regs := make([]uint16, Size)
	h := &header{v: v, have: v != nil, now: now}
	if v == nil {
		h.v = &ops.View{State: "starting"}
	}
	stale := m.staleAfter
	if stale == 0 {
		stale = max(3*h.v.Period.Length, 10*time.Second)
	}
	h.stale = h.have && now.Sub(h.v.Time) > stale

	zoneIdx := map[string]int{}
	for i, z := range h.v.Zones {
		if _, dup := zoneIdx[z.Name]; !dup {
			zoneIdx[z.Name] = i
		}
		if !z.OK {
			h.zonesNotOK++
		}
	}
	unitIdx := map[string]int{}
	for i, u := range h.v.Units {
		if _, dup := unitIdx[u.Name]; !dup {
			unitIdx[u.Name] = i
		}
		h.tripped += b2u(u.Tripped)
		h.isolated += b2u(u.Isolated)
	}
	zoneSev, zoneN := make([]uint64, len(h.v.Zones)), make([]uint64, len(h.v.Zones))
	unitSev, unitN := make([]uint64, len(h.v.Units)), make([]uint64, len(h.v.Units))
	for i := range h.v.Alarms {
		a := &h.v.Alarms[i]
		sev := sevCodes[a.Severity] // 0: other
		h.bySev[sev]++
		src := alarmSource(a, now, zoneIdx, unitIdx)
		var bit uint64
		if sev > 0 {
			bit = 1 << (sev - 1)
		}
		switch {
		case src.kind == srcZone && src.index >= 0:
			zoneSev[src.index] |= bit
			zoneN[src.index]++
		case src.kind == srcUnit && src.index >= 0:
			unitSev[src.index] |= bit
			unitN[src.index]++
		}
		if i < MaxAlarms {
			if src.index >= MaxZones && src.kind == srcZone || src.index >= MaxUnits && src.kind == srcUnit {
				src.index = -1 // no block to point at
			}
			put(block(regs, AlarmBase, AlarmStride, i), alarmFields, &src, false)
		}
	}
	put(regs[HeaderBase:HeaderBase+HeaderSize], headerFields, h, false)
	for i := range MaxZones {
		if i < len(h.v.Zones) {
			put(block(regs, ZoneBase, ZoneStride, i), zoneFields, &zoneSrc{z: &h.v.Zones[i], sev: zoneSev[i], alarms: zoneN[i]}, false)
		} else {
			put(block(regs, ZoneBase, ZoneStride, i), zoneFields, nil, true)
		}
	}
	for i := range MaxUnits {
		if i < len(h.v.Units) {
			put(block(regs, UnitBase, UnitStride, i), unitFields, &unitSrc{u: &h.v.Units[i], sev: unitSev[i], alarms: unitN[i]}, false)
		} else {
			put(block(regs, UnitBase, UnitStride, i), unitFields, nil, true)
		}
	}
	return regs
}

func block(regs []uint16, base, stride, i int) []uint16 {
	return regs[base+i*stride : base+(i+1)*stride]
}

// alarmSource reads an alarm's source ("zone row-a", "unit crah-2", "controller") and finds its
// zone or unit.
func alarmSource(a *ops.Alarm, now time.Time, zones, units map[string]int) alarmSrc {
	s := alarmSrc{a: a, now: now, kind: srcOther, name: a.Source, index: -1}
	if name, ok := strings.CutPrefix(a.Source, "zone "); ok {
		s.kind, s.name = srcZone, name
		if i, ok := zones[name]; ok {
			s.index = i
		}
	} else if name, ok := strings.CutPrefix(a.Source, "unit "); ok {
		s.kind, s.name = srcUnit, name
		if i, ok := units[name]; ok {
			s.index = i
		}
	} else if a.Source == "controller" {
		s.kind = srcController
	}
	return s
}

// NewServer is the Modbus TCP server of p's image with o's unit id and bounds.
func NewServer(p *ops.Publisher, o Options) (*modbus.Server, error) {
	if o.UnitID < 0 || o.UnitID > 247 {
		return nil, fmt.Errorf("bms: unit_id %d outside 1..247", o.UnitID)
	}
	img, err := NewImage(p, o)
	if err != nil {
		return nil, err
	}
	s, err := modbus.NewServer(img, modbus.ServerOptions{UnitID: byte(o.UnitID), MaxConns: o.MaxConns, IdleTimeout: o.IdleTimeout})
	if err != nil {
		return nil, fmt.Errorf("bms: %w", err)
	}
	return s, nil
}

// ListenAndServe serves p's image on listen ("ADDR:PORT", the [bms] listen setting) until ctx
// ends; it returns ctx.Err() then, or the error that stopped it.
func ListenAndServe(ctx context.Context, listen string, p *ops.Publisher, o Options) error {
	if _, port, err := net.SplitHostPort(listen); err != nil || port == "" {
		return fmt.Errorf("bms: listen %q: want ADDR:PORT", listen)
	}
	s, err := NewServer(p, o)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("bms: %w", err)
	}
	return s.Serve(ctx, ln)
}

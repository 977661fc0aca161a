package mesh

import (
	"errors"
	"strconv"
	"time"
)

// Reading is one sensor value from the mesh.
type Reading struct {
	Sensor    string    // node MAC and channel, "00-17-0d-00-00-38-0a-1f/2"
	Kind      Kind      // what is measured
	Value     float64   // in Kind.Unit(); 0 when Fault
	Fault     bool      // the probe exists but has no valid reading (raw 0x8000)
	Time      time.Time // gateway UTC time of the notification
	NodeSeq   uint8     // node's report counter (wraps; the mesh may reorder or repeat)
	BatteryMV uint16    // node battery, 0 = unknown
}

// SensorID formats a sensor id: MAC bytes in lower-case hex joined by '-', then '/' and the
// channel in decimal.
func SensorID(mac [8]byte, channel uint8) string {
	b := make([]byte, 0, 27)
	return string(appendSensorID(b, mac, channel))
}

func appendSensorID(b []byte, mac [8]byte, channel uint8) []byte {
	const hexdig = "0123456789abcdef"
	for i, m := range mac {
		if i > 0 {
			b = append(b, '-')
		}
		b = append(b, hexdig[m>>4], hexdig[m&0xF])
	}
	b = append(b, '/')
	return strconv.AppendUint(b, uint64(channel), 10)
}

// maxCachedNodes bounds the sensor id cache so garbage MACs cannot grow it without limit.
const maxCachedNodes = 1024

// nodeIDs caches the sensor id strings of one node, indexed by channel (grown on demand).
type nodeIDs struct {
	mac [8]byte
	ids []string
}

func (n *nodeIDs) id(ch uint8) string {
	if int(ch) < len(n.ids) && n.ids[ch] != "" {
		return n.ids[ch]
	}
	if int(ch) >= len(n.ids) {
		n.ids = append(n.ids, make([]string, int(ch)+1-len(n.ids))...)
	}
	n.ids[ch] = SensorID(n.mac, ch)
	return n.ids[ch]
}

// Decoder turns notification payloads into Readings. Sensor id strings are cached per
// (MAC, channel), so decoding a known sensor does not allocate. Not safe for concurrent use.
type Decoder struct {
	cnt   *Counters
	nodes map[[8]byte]*nodeIDs
	last  *nodeIDs // the previous notification's node: one map lookup saved in a burst
	spare nodeIDs  // used (uncached) once the cache is full
}

// NewDecoder returns a Decoder that counts into cnt (which may be nil).
func NewDecoder(cnt *Counters) *Decoder {
	if cnt == nil {
		cnt = new(Counters)
	}
	return &Decoder{cnt: cnt, nodes: make(map[[8]byte]*nodeIDs)}
}

func (d *Decoder) node(mac [8]byte) *nodeIDs {
	if d.last != nil && d.last.mac == mac {
		return d.last
	}
	n, ok := d.nodes[mac]
	if !ok {
		if len(d.nodes) >= maxCachedNodes {
			d.spare = nodeIDs{mac: mac}
			return &d.spare
		}
		n = &nodeIDs{mac: mac}
		d.nodes[mac] = n
	}
	d.last = n
	return n
}

// Notification handles the payload of a notification packet (notifType first). Data
// notifications for the sensor port are decoded and each valid record is passed to deliver;
// other notification types are counted and ignored. The returned error says why the
// notification or a part of it was dropped (already counted); a record of unknown kind is
// skipped without an error.
func (d *Decoder) Notification(payload []byte, deliver func(Reading)) error {
	if len(payload) == 0 {
		d.cnt.Add(CountMalformedNotification)
		return errEmptyNotification
	}
	switch payload[0] {
	case NotifData:
	case NotifEvent:
		d.cnt.Add(CountNotifEvent)
		return nil
	case NotifLog:
		d.cnt.Add(CountNotifLog)
		return nil
	case NotifIPData:
		d.cnt.Add(CountNotifIPData)
		return nil
	case NotifHealth:
		d.cnt.Add(CountNotifHealth)
		return nil
	default:
		d.cnt.Add(CountNotifOther)
		return nil
	}
	n, err := ParseDataNotification(payload)
	if err != nil {
		d.cnt.Add(CountMalformedNotification)
		return err
	}
	if n.DstPort != SensorPort {
		d.cnt.Add(CountOtherPort)
		return nil
	}
	p, err := ParsePayload(n.Data)
	if err != nil {
		if errors.Is(err, ErrBadVersion) {
			d.cnt.Add(CountBadVersion)
		} else {
			d.cnt.Add(CountMalformedPayload)
		}
		return err
	}
	d.cnt.Add(CountDataNotification)
	t := n.Time()
	node := d.node(n.MAC)
	for i := range p.Len() {
		rec := p.Record(i)
		if !rec.Kind.Known() {
			d.cnt.Add(CountUnknownKind)
			continue
		}
		r := Reading{
			Sensor:    node.id(rec.Channel),
			Kind:      rec.Kind,
			Time:      t,
			NodeSeq:   p.NodeSeq,
			BatteryMV: p.BatteryMV,
		}
		if rec.Value == ProbeFault {
			r.Fault = true
			d.cnt.Add(CountProbeFaults)
		} else {
			r.Value = float64(rec.Value) / 100 // exact decimal: 2245 -> 22.45
		}
		d.cnt.Add(CountReadings)
		if deliver != nil {
			deliver(r)
		}
	}
	return nil
}

var errEmptyNotification = errors.New("mesh: malformed notification: empty payload")

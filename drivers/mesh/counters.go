package mesh

import "sync/atomic"

// Counter names one thing the link counts: a frame or record dropped for a reason, or a
// protocol event. Counter.String is the key in Client.Counters.
type Counter uint8

// Drop reasons (a frame, packet, notification or record was thrown away) and events.
const (
	// Framing drops.
	CountBadFCS     Counter = iota // FCS did not match
	CountTooLong                   // more than MaxPacket bytes before the closing flag
	CountShortFrame                // fewer than 4 packet bytes + FCS
	CountBadLength                 // payloadLen byte does not match the frame length
	CountBadEscape                 // 0x7D immediately followed by a flag (abort sequence)
	CountNoSync                    // bytes before the first flag (receiver joined mid-frame)

	// Packet and payload drops.
	CountUnknownPacket         // a packet type this controller does not speak
	CountStaleResponse         // a response to no outstanding request
	CountMalformedResponse     // a response too short for its type
	CountNoSession             // gateway packet before hello_response: dropped, not acked
	CountDuplicate             // same seqNo as the previous gateway packet
	CountMalformedNotification // notification too short or with an impossible time
	CountOtherPort             // notifData for a port other than 0xF0B8
	CountBadVersion            // sensor payload version other than 1
	CountMalformedPayload      // sensor payload length not 4+4n with n in 1..16
	CountUnknownKind           // a record with a kind other than 1..3 (other records kept)

	// Traffic and session events.
	CountFramesOK         // valid frames received
	CountDataNotification // notifData packets accepted
	CountReadings         // readings delivered
	CountProbeFaults      // of which probe faults
	CountNotifEvent       // other notification types, acked if asked and otherwise ignored
	CountNotifLog
	CountNotifIPData
	CountNotifHealth
	CountNotifOther
	CountAcksSent
	CountRequestsSent // hello and subscribe, first transmissions
	CountRetransmits
	CountSessions          // sessions started (hello sent afresh)
	CountSessionsUp        // hello_response accepted
	CountRequestTimeouts   // a request unanswered after all retransmissions
	CountManagerHello      // manager_hello received (starts a new session)
	CountHelloRejected     // hello_response with a non-zero success code
	CountSubscribeRejected // subscribe answered with a non-zero RC
	CountKeepAlives        // keep-alive subscribes after a quiet period
	CountPortOpens
	CountPortErrors   // the open port failed (read or write error)
	CountOpenFailures // the open func returned an error

	numCounters
)

var counterNames = [numCounters]string{
	CountBadFCS:                "bad_fcs",
	CountTooLong:               "too_long",
	CountShortFrame:            "short_frame",
	CountBadLength:             "bad_length",
	CountBadEscape:             "bad_escape",
	CountNoSync:                "no_sync",
	CountUnknownPacket:         "unknown_packet",
	CountStaleResponse:         "stale_response",
	CountMalformedResponse:     "malformed_response",
	CountNoSession:             "no_session",
	CountDuplicate:             "duplicate",
	CountMalformedNotification: "malformed_notification",
	CountOtherPort:             "other_port",
	CountBadVersion:            "bad_version",
	CountMalformedPayload:      "malformed_payload",
	CountUnknownKind:           "unknown_kind",
	CountFramesOK:              "frames_ok",
	CountDataNotification:      "data_notifications",
	CountReadings:              "readings",
	CountProbeFaults:           "probe_faults",
	CountNotifEvent:            "notif_event",
	CountNotifLog:              "notif_log",
	CountNotifIPData:           "notif_ipdata",
	CountNotifHealth:           "notif_health",
	CountNotifOther:            "notif_other",
	CountAcksSent:              "acks_sent",
	CountRequestsSent:          "requests_sent",
	CountRetransmits:           "retransmits",
	CountSessions:              "sessions",
	CountSessionsUp:            "sessions_up",
	CountRequestTimeouts:       "request_timeouts",
	CountManagerHello:          "manager_hello",
	CountHelloRejected:         "hello_rejected",
	CountSubscribeRejected:     "subscribe_rejected",
	CountKeepAlives:            "keepalives",
	CountPortOpens:             "port_opens",
	CountPortErrors:            "port_errors",
	CountOpenFailures:          "open_failures",
}

func (c Counter) String() string {
	if c < numCounters {
		return counterNames[c]
	}
	return "unknown_counter"
}

// Counters is a set of counters safe for concurrent use: the session goroutine adds, anyone
// reads. The zero value is ready. Adding does not allocate.
type Counters struct {
	v [numCounters]atomic.Uint64
}

// Add increments counter c.
func (s *Counters) Add(c Counter) {
	if c < numCounters {
		s.v[c].Add(1)
	}
}

// Get returns the value of counter c.
func (s *Counters) Get(c Counter) uint64 {
	if c < numCounters {
		return s.v[c].Load()
	}
	return 0
}

// Snapshot returns every counter by name (zeros included, so the key set is stable).
func (s *Counters) Snapshot() map[string]uint64 {
	m := make(map[string]uint64, numCounters)
	for c := Counter(0); c < numCounters; c++ {
		m[c.String()] = s.v[c].Load()
	}
	return m
}

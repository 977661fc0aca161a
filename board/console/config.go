package console

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/control/site"
)

func buildCfgTree(op *node) *node {
	var runKids []*node
	for _, k := range op.kids {
		switch k.word {
		case "configure", "exit", "logout", "password", "help":
		default:
			runKids = append(runKids, k)
		}
	}
	return &node{kids: []*node{
		{word: "set", help: "set PATH VALUE in the candidate", rest: completePath(site.OpSet), run: (*session).set},
		{word: "delete", help: "delete PATH: an element, a list entry, or back to default", rest: completePath(site.OpDelete), run: (*session).del},
		kw("show", "the candidate configuration (TOML)", (*session).showCandidate,
			kw("diff", "what commit would change (running vs candidate)", (*session).showDiff)),
		kw("commit", "validate, store as a new version and apply", (*session).commit,
			kw("check", "validate only; nothing changes", (*session).commitCheck),
			kw("confirmed", "apply, and roll back unless confirmed in time", nil,
				&node{arg: "MINUTES", help: "minutes to confirm with a second commit, 1..60", check: checkMinutes, run: (*session).commitConfirmed})),
		kw("rollback", "load a stored version into the candidate", nil,
			&node{arg: "N", help: "version number", choices: versionChoices, check: checkVersionNumber, run: (*session).rollback}),
		kw("discard", "drop your changes: the candidate is the running config again", (*session).discard),
		{word: "run", help: "run an operational command (run show sensors)", kids: runKids},
		kw("help", "the commands and the keys", (*session).help),
		kw("exit", "leave configuration mode", (*session).exitConfig),
	}}
}

func checkMinutes(_ *session, _ []string, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 60 {
		return fmt.Errorf("%q is not a number of minutes 1..60", v)
	}
	return nil
}

func completePath(op site.Op) func(s *session, args []string, words []string) []choice {
	return func(s *session, _ []string, words []string) []choice {
		var out []choice
		for _, c := range site.CompletionsHelp(s.cand, words, op) {
			out = append(out, choice{word: c.Word, help: c.Help, more: c.More})
		}
		return out
	}
}

// effective is the configuration as it will be stored and loaded. A candidate has every key set
// (it comes from a parsed configuration, and new elements get their defaults when created), so
// this is a copy: explicit zeros stay zeros.
func effective(c *site.Config) *site.Config {
	e, err := c.Clone()
	if err != nil {
		return c
	}
	return e
}

func (s *session) configure([]string) error {
	cand, err := s.running.Clone()
	if err != nil {
		return backendErr("configure", err)
	}
	s.cand, s.candBase, s.cfgMode = cand, s.runVer.N, true
	s.printf("editing a candidate copy of version %d; commit applies it, exit leaves\n", s.runVer.N)
	return nil
}

func pathMessage(cmd string, err error) error {
	var pe *site.PathError
	if errors.As(err, &pe) {
		if pe.Path == "" {
			return &userError{cmd + ": " + pe.Msg}
		}
		return &userError{cmd + ": " + pe.Path + ": " + pe.Msg}
	}
	return &userError{cmd + ": " + oneLine(strings.TrimPrefix(err.Error(), "site: "))}
}

func (s *session) edit(cmd string, op site.Op, words []string) error {
	next, notes, err := site.Edit(s.cand, op, words)
	if err != nil {
		return pathMessage(cmd, err)
	}
	s.cand = next
	for _, n := range notes {
		s.printf("note: %s\n", oneLine(n))
	}
	return nil
}

func (s *session) set(words []string) error { return s.edit("set", site.OpSet, words) }
func (s *session) del(words []string) error { return s.edit("delete", site.OpDelete, words) }

func (s *session) showCandidate([]string) error {
	s.write(encodeConfig(effective(s.cand)))
	return nil
}

func (s *session) diffText() string {
	return unifiedDiff(fmt.Sprintf("running (version %d)", s.runVer.N), "candidate",
		encodeConfig(effective(s.running)), encodeConfig(effective(s.cand)), 3)
}

func (s *session) showDiff([]string) error {
	d := s.diffText()
	if d == "" {
		s.write("no changes\n")
		return nil
	}
	s.write(d)
	return nil
}

func (s *session) discard([]string) error {
	cand, err := s.running.Clone()
	if err != nil {
		return backendErr("discard", err)
	}
	s.cand, s.candBase = cand, s.runVer.N
	s.printf("candidate is version %d again\n", s.runVer.N)
	return nil
}

func (s *session) exitConfig([]string) error {
	if s.diffText() != "" {
		return &userError{"exit: the candidate has changes: commit them, or discard them first"}
	}
	s.cfgMode, s.cand = false, nil
	return nil
}

func (s *session) rollback(a []string) error {
	n, _ := strconv.Atoi(a[0])
	cfg, v, err := s.c.b.ConfigVersion(s.ctx, n)
	if err != nil {
		if errors.Is(err, ErrNoVersion) {
			return &userError{fmt.Sprintf("rollback: no version %d (rollback ? lists them)", n)}
		}
		return backendErr("rollback", err)
	}
	cand, err := cfg.Clone()
	if err != nil {
		return backendErr("rollback", err)
	}
	s.cand = cand
	s.printf("candidate is now version %d (%s); show diff, then commit\n", v.N, versionLine(v))
	return nil
}

func (s *session) commit([]string) error      { return s.doCommit(0, false) }
func (s *session) commitCheck([]string) error { return s.doCommit(0, true) }
func (s *session) commitConfirmed(a []string) error {
	m, _ := strconv.Atoi(a[0])
	return s.doCommit(m, false)
}

// pendingConfirm is a commit confirmed waiting for its second commit.
type pendingConfirm struct {
	prev      *site.Config // what the automatic rollback restores
	prevVer   int
	ver       int
	user      string
	minutes   int
	deadline  time.Time
	confirmed chan struct{}
}

// doCommit validates the whole candidate and hands it to the backend; on any problem nothing changes.
func (s *session) doCommit(minutes int, checkOnly bool) error {
	cmd := "commit"
	run, ver, err := s.c.b.RunningConfig(s.ctx)
	if err != nil {
		return &userError{"commit: cannot read the running configuration: " + oneLine(err.Error()) + "; nothing changed"}
	}
	s.running, s.runVer = run, ver
	if ver.N != s.candBase && !s.c.rolledBackFrom(ver.N, s.candBase) {
		return &userError{fmt.Sprintf("commit: version %d (%s) was committed after you started from %d; discard and redo your changes; nothing changed",
			ver.N, versionLine(ver), s.candBase)}
	}
	eff := effective(s.cand)
	if probs := site.Problems(eff); len(probs) > 0 {
		for _, p := range probs {
			s.printf("%s: %s\n", cmd, oneLine(p.String()))
		}
		word := "problems"
		if len(probs) == 1 {
			word = "problem"
		}
		return &userError{fmt.Sprintf("%s: %d %s; nothing changed", cmd, len(probs), word)}
	}
	changed := s.diffText() != ""
	if checkOnly {
		if changed {
			s.write("commit check: the candidate is valid\n")
		} else {
			s.write("commit check: the candidate is valid (no changes)\n")
		}
		return nil
	}
	prevCfg, prevVer := run, ver.N
	if p := s.c.takePending(); p != nil {
		if !changed || minutes == 0 {
			if err := s.c.b.ConfirmCommit(s.ctx, p.ver); err != nil {
				s.printf("commit: storing the confirmation failed: %s (it stays; a restart may still roll it back)\n", oneLine(err.Error()))
			}
			s.logEvent(EventConfirm, fmt.Sprintf("version %d confirmed", p.ver))
			s.printf("commit: version %d confirmed; it stays\n", p.ver)
		}
		if minutes > 0 {
			prevCfg, prevVer = p.prev, p.prevVer // a new confirmed commit still rolls back to before the first
		}
		if !changed {
			return nil
		}
	} else if !changed {
		return &userError{"commit: no changes"}
	}
	info := CommitInfo{User: s.user.Name, Time: s.now()}
	if minutes > 0 {
		info.Comment = fmt.Sprintf("commit confirmed %d", minutes)
		info.ConfirmWithin, info.RollbackTo = time.Duration(minutes)*time.Minute, prevVer
	}
	nv, err := s.c.b.CommitConfig(s.ctx, eff, info)
	if err != nil {
		return &userError{"commit: failed: " + oneLine(err.Error()) + "; nothing changed"}
	}
	text := fmt.Sprintf("version %d (was %d)", nv.N, ver.N)
	if minutes > 0 {
		text += fmt.Sprintf(", confirmed within %d min or rolled back", minutes)
	}
	s.logEvent(EventCommit, text)
	s.running, s.runVer, s.candBase = eff, nv, nv.N
	if s.cand, err = eff.Clone(); err != nil {
		s.cand = eff
	}
	s.printf("commit: version %d committed and applied\n", nv.N)
	if minutes > 0 {
		p := &pendingConfirm{prev: prevCfg, prevVer: prevVer, ver: nv.N, user: s.user.Name, minutes: minutes,
			deadline: s.now().Add(time.Duration(minutes) * time.Minute), confirmed: make(chan struct{})}
		s.c.startConfirm(s.ctx, s.timers, p)
		s.printf("commit: rolls back to version %d at %s unless confirmed by commit\n", prevVer, p.deadline.Format("15:04:05"))
	}
	return nil
}

// resumePending re-arms the rollback of a commit confirmed that the backend still holds (the
// controller restarted inside its window), once per Console.
func (c *Console) resumePending(ctx context.Context, wg *sync.WaitGroup) {
	c.resumeOnce.Do(func() {
		p, err := c.b.PendingCommit(ctx)
		if err != nil || p == nil {
			return
		}
		prev, _, err := c.b.ConfigVersion(ctx, p.RollbackTo)
		if err != nil {
			_ = c.logEvent(ctx, Event{User: "system", Kind: EventRollback, Text: fmt.Sprintf("FAILED: the pending commit confirmed of version %d cannot be re-armed: version %d: %s", p.Version, p.RollbackTo, oneLine(err.Error()))})
			return
		}
		c.mu.Lock()
		busy := c.pending != nil
		c.mu.Unlock()
		if busy {
			return
		}
		minutes := int((p.Window + time.Minute - 1) / time.Minute)
		c.startConfirm(ctx, wg, &pendingConfirm{prev: prev, prevVer: p.RollbackTo, ver: p.Version, user: p.User, minutes: minutes,
			deadline: c.o.Clock.Now().Add(p.Remaining), confirmed: make(chan struct{})})
	})
}

// takePending removes the pending commit confirmed (confirming it), if any.
func (c *Console) takePending() *pendingConfirm {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pending
	if p != nil {
		c.pending = nil
		close(p.confirmed)
	}
	return p
}

func (c *Console) rolledBackFrom(now, base int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.autoRolled[now] == base
}

// startConfirm arms the automatic rollback of a commit confirmed. The timer goroutine belongs to
// the Serve that started it: when Serve's context ends first, it rolls back at once.
func (c *Console) startConfirm(ctx context.Context, wg *sync.WaitGroup, p *pendingConfirm) {
	c.mu.Lock()
	c.pending = p
	c.mu.Unlock()
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := c.o.Clock.TimerAt(p.deadline)
		defer t.Stop()
		why := fmt.Sprintf("not confirmed within %d min", p.minutes)
		select {
		case <-p.confirmed:
			return
		case <-t.C():
		case <-ctx.Done():
			why = "console stopped before confirmation"
		}
		c.mu.Lock()
		if c.pending != p {
			c.mu.Unlock()
			return
		}
		c.pending = nil
		c.mu.Unlock()
		c.autoRollback(ctx, p, why)
	}()
}

func (c *Console) autoRollback(ctx context.Context, p *pendingConfirm, why string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	comment := fmt.Sprintf("automatic rollback to version %d: commit confirmed of version %d by %s %s", p.prevVer, p.ver, p.user, why)
	nv, err := c.b.CommitConfig(rctx, p.prev, CommitInfo{User: "system", Time: c.o.Clock.Now(), Comment: comment})
	if err != nil {
		_ = c.logEvent(rctx, Event{User: "system", Kind: EventRollback, Text: "FAILED: " + comment + ": " + oneLine(err.Error())})
		c.notify(fmt.Sprintf("%% commit confirmed: automatic rollback to version %d FAILED: %s", p.prevVer, oneLine(err.Error())))
		return
	}
	c.mu.Lock()
	c.autoRolled[nv.N] = p.ver
	c.mu.Unlock()
	_ = c.logEvent(rctx, Event{User: "system", Kind: EventRollback, Text: fmt.Sprintf("%s (now version %d)", comment, nv.N)})
	c.notify(fmt.Sprintf("%% commit confirmed %s: rolled back to version %d (now version %d)", why, p.prevVer, nv.N))
}

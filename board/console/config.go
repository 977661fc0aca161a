package console

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
			commentNode(false),
			kw("confirmed", "apply, and roll back unless confirmed in time", nil,
				&node{arg: "MINUTES", help: "minutes to confirm with a second commit, 1..60", check: checkMinutes, run: (*session).commitConfirmed,
					kids: []*node{commentNode(true)}})),
		kw("rollback", "load a stored version into the candidate", nil,
			&node{arg: "N", help: "version number", choices: versionChoices, check: checkVersionNumber, run: (*session).rollback}),
		kw("discard", "drop your changes: the candidate is the running config again", (*session).discard),
		{word: "run", help: "run an operational command (run show sensors)", kids: runKids},
		kw("help", "the commands and the keys", (*session).help),
		kw("exit", "leave configuration mode", (*session).exitConfig),
	}}
}

// maxComment is the longest commit comment, in characters (the history shows it whole).
const maxComment = 200

// commentNode is "comment TEXT": the rest of the line (quoted or not) is stored with the version.
func commentNode(confirmed bool) *node {
	run := (*session).commitComment
	if confirmed {
		run = (*session).commitConfirmedComment
	}
	return &node{word: "comment", help: "store a comment with the new version (shown in show history)",
		rest: func(_ *session, _ []string, words []string) []choice {
			if len(words) == 1 && words[0] == "" {
				return []choice{{word: "<TEXT>", help: `why: the rest of the line, e.g. "fan minimum for the new racks"`}}
			}
			return nil
		},
		run: run}
}

// commentText joins the words of a comment and checks it: one line of printable text.
func commentText(words []string) (string, error) {
	c := strings.TrimSpace(strings.Join(words, " "))
	switch {
	case c == "":
		return "", &userError{`commit comment: missing TEXT (commit comment "why")`}
	case !utf8.ValidString(c) || printable(c) != c:
		return "", &userError{"commit comment: control characters are not allowed; nothing changed"}
	case utf8.RuneCountInString(c) > maxComment:
		return "", &userError{fmt.Sprintf("commit comment: %d characters, at most %d; nothing changed", utf8.RuneCountInString(c), maxComment)}
	}
	return c, nil
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

func (s *session) set(words []string) error {
	return s.edit("set", site.OpSet, percentValue(words))
}

// percentValue lets a percentage be typed with its sign: the value of a *_pct field may end in
// "%" (min_fan_pct 35%), that of a *_pct_s rate in "%/s" or "%" (fan_rate_pct_s 2%/s).
func percentValue(words []string) []string {
	if len(words) < 2 {
		return words
	}
	field := words[len(words)-2]
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		field = field[i+1:]
	}
	v := words[len(words)-1]
	switch {
	case strings.HasSuffix(field, "_pct_s"):
		v = strings.TrimSuffix(strings.TrimSuffix(v, "/s"), "%")
	case strings.HasSuffix(field, "_pct"):
		v = strings.TrimSuffix(v, "%")
	default:
		return words
	}
	out := append([]string(nil), words...)
	out[len(out)-1] = v
	return out
}
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

func (s *session) commit([]string) error      { return s.doCommit(0, false, "") }
func (s *session) commitCheck([]string) error { return s.doCommit(0, true, "") }

// commitComment is commit comment TEXT (a: the comment's words).
func (s *session) commitComment(a []string) error {
	c, err := commentText(a)
	if err != nil {
		return err
	}
	return s.doCommit(0, false, c)
}

// commitConfirmedComment is commit confirmed MINUTES comment TEXT.
func (s *session) commitConfirmedComment(a []string) error {
	m, _ := strconv.Atoi(a[0])
	c, err := commentText(a[1:])
	if err != nil {
		return err
	}
	return s.doCommit(m, false, c)
}

func (s *session) commitConfirmed(a []string) error {
	m, _ := strconv.Atoi(a[0])
	return s.doCommit(m, false, "")
}

// pendingConfirm is a commit confirmed waiting for its second commit.
type pendingConfirm struct {
	prev      *site.Config // what the automatic rollback restores
	prevVer   int
	cfg       *site.Config // what was committed (for what the rollback undoes)
	ver       int
	user      string
	minutes   int
	deadline  time.Time
	confirmed chan struct{}
}

// doCommit validates the whole candidate and hands it to the backend; on any problem nothing changes.
func (s *session) doCommit(minutes int, checkOnly bool, comment string) error {
	cmd := "commit"
	run, ver, err := s.c.b.RunningConfig(s.ctx)
	if err != nil {
		return &userError{"commit: cannot read the running configuration: " + oneLine(err.Error()) + "; nothing changed"}
	}
	s.running, s.runVer = run, ver
	if ver.N != s.candBase {
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
	info := CommitInfo{User: s.user.Name, Time: s.now(), Comment: comment}
	if minutes > 0 {
		conf := fmt.Sprintf("commit confirmed %d", minutes)
		if comment != "" {
			conf = comment + " (" + conf + ")"
		}
		info.Comment = conf
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
	if comment != "" {
		text += fmt.Sprintf(": %q", comment)
	}
	s.logEvent(EventCommit, text)
	s.running, s.runVer, s.candBase = eff, nv, nv.N
	if s.cand, err = eff.Clone(); err != nil {
		s.cand = eff
	}
	s.printf("commit: version %d committed and applied\n", nv.N)
	if minutes > 0 {
		p := &pendingConfirm{prev: prevCfg, prevVer: prevVer, cfg: eff, ver: nv.N, user: s.user.Name, minutes: minutes,
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
		c.notify(fmt.Sprintf("%% commit confirmed: automatic rollback to version %d FAILED: %s\n", p.prevVer, oneLine(err.Error())), nil)
		return
	}
	_ = c.logEvent(rctx, Event{User: "system", Kind: EventRollback, Text: fmt.Sprintf("%s (now version %d)", comment, nv.N)})
	msg := fmt.Sprintf("%% commit confirmed %s: rolled back to version %d (now version %d)\n", why, p.prevVer, nv.N)
	if undone := changedLines(p.cfg, p.prev); undone != "" {
		msg += fmt.Sprintf("%% undone, the changes of version %d by %s:\n%s", p.ver, printable(p.user), undone)
	}
	msg += fmt.Sprintf("%% a candidate made from version %d is reset to version %d at the next command\n", p.ver, nv.N)
	cfg, err := p.prev.Clone()
	if err != nil {
		cfg = p.prev
	}
	c.notify(msg, &rollbackNotice{from: p.ver, to: nv.N, cfg: cfg})
}

// changedLines is what a rollback from a to b undoes: the lines of the diff (no context), each
// with the table it belongs to.
func changedLines(a, b *site.Config) string {
	if a == nil || b == nil {
		return ""
	}
	d := unifiedDiff("a", "b", encodeConfig(effective(a)), encodeConfig(effective(b)), 0)
	var out strings.Builder
	for _, l := range strings.Split(d, "\n") {
		switch {
		case strings.HasPrefix(l, "---"), strings.HasPrefix(l, "+++"), l == "":
		case strings.HasPrefix(l, "@@"):
			if _, where, ok := strings.Cut(strings.TrimPrefix(l, "@@"), "@@"); ok && strings.TrimSpace(where) != "" {
				out.WriteString("  " + strings.TrimSpace(where) + "\n")
			}
		default:
			out.WriteString("    " + l + "\n")
		}
	}
	return out.String()
}

// rollbackNotice tells a session that an automatic rollback replaced the version its candidate
// was made from.
type rollbackNotice struct {
	from, to int // the version rolled back, the version now running
	cfg      *site.Config
}

// takeNotices applies the rollbacks that happened since the last command (on the session's own
// goroutine: the candidate is its state). A candidate made from the rolled-back version is
// reset to the running configuration: left as it was, it would still hold the undone change and
// a plain commit would apply it again without a word.
func (s *session) takeNotices() {
	s.nmu.Lock()
	ns := s.notices
	s.notices = nil
	s.nmu.Unlock()
	for _, n := range ns {
		if !s.cfgMode || s.candBase != n.from {
			continue
		}
		cand, err := n.cfg.Clone()
		if err != nil {
			cand = n.cfg
		}
		s.cand, s.candBase = cand, n.to
		s.printf("candidate reset to version %d (automatic rollback of version %d)\n", n.to, n.from)
	}
}

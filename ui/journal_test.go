package ui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/fleetdeck/fleetdeck/audit"
)

// fakeAudit is a journal that counts how often the view looks at it.
type fakeAudit struct {
	mu      sync.Mutex
	records []audit.Record
	reads   int
}

func (f *fakeAudit) Recent(ctx context.Context, n int) ([]audit.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return append([]audit.Record(nil), f.records...), nil
}

func (f *fakeAudit) add(r audit.Record) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = append(f.records, r)
}

func (f *fakeAudit) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func record(seq int64, user string, action audit.Action, vin, command string, outcomes ...audit.Entry) audit.Record {
	return audit.Record{
		Entry:    audit.Entry{Seq: seq, At: testNow.Add(time.Duration(seq) * time.Minute), Actor: audit.Actor{Kind: audit.KindSSH, User: user, Role: "operator"}, Action: action, VIN: vin, Command: command},
		Outcomes: outcomes,
	}
}

func TestCommandsPanelShowsTheJournal(t *testing.T) {
	t.Parallel()
	e := newEnv()
	log := &fakeAudit{}
	log.add(record(1, "alice", audit.ActionCommandSend, "1FTFW1ET5DFC10312", "lock_door", audit.Entry{Seq: 2, Outcome: "Pending", CommandID: "c-1"}))
	// A process killed between request and answer left this one open.
	log.add(record(3, "bob\x1b]0;pwned\x07", audit.ActionClearanceRevoke, "WBA5R1C51KAJ98123", ""))
	e.opts.Audit = log
	m := started(t, e, 200, 50)
	v := m.View()
	mustContain(t, v, "Journal", "alice", "lock_door", "outcome unknown", "bob")
	if strings.Contains(v, "\x1b]") || strings.Contains(v, "pwned\a") {
		t.Fatal("a journal string reached the screen with its escape sequence")
	}
	// Newest first: bob's revoke above alice's send.
	if strings.Index(v, "bob") > strings.Index(v, "alice") {
		t.Errorf("journal is not newest first:\n%s", v)
	}

	// An answer from the command API makes the panel look again.
	before := log.count()
	log.add(record(4, "carol", audit.ActionCommandSend, "1FTFW1ET5DFC10312", "unlock_door", audit.Entry{Seq: 5, Outcome: "Pending"}))
	drive(t, m, keyMsg("3"), keyMsg("right"), keyMsg("down"), keyMsg("left"), keyMsg("enter"))
	if log.count() <= before {
		t.Fatal("sending a command did not refresh the journal")
	}
	mustContain(t, m.View(), "carol", "unlock_door")
}

func TestNoJournalNoSection(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 200, 50)
	if strings.Contains(m.View(), "Journal") {
		t.Fatal("a Journal section without a journal")
	}
}

// Every look at the journal arms the next one; a look made for another
// reason (a command's answer) must replace the pending timer, not add a
// second one, or each command sent would add a poller for the session's life.
func TestJournalKeepsOneTimer(t *testing.T) {
	t.Parallel()
	e := newEnv()
	log := &fakeAudit{}
	e.opts.Audit = log
	m := e.model(t)
	var ticks []tea.Msg
	short := m.c.timer
	m.c.timer = func(d time.Duration, msg tea.Msg) tea.Cmd {
		if env, ok := msg.(envelope); ok && env.pane == paneCommands {
			if _, ok := env.msg.(journalTick); !ok {
				return short(d, msg)
			}
			ticks = append(ticks, msg)
			return nil
		}
		return short(d, msg)
	}
	drive(t, m, tea.WindowSizeMsg{Width: 200, Height: 50})
	settle(t, m, m.Init())
	drive(t, m, keyMsg("3"), keyMsg("right"), keyMsg("down"), keyMsg("left"), keyMsg("enter"))
	armed := len(ticks)
	if armed < 2 {
		t.Fatalf("%d journal timers armed; want one per look (at least 2)", armed)
	}
	before := log.count()
	for _, tick := range ticks[:armed] {
		drive(t, m, tick)
	}
	if got := log.count() - before; got != 1 {
		t.Fatalf("%d armed journal timers made %d looks; want 1", armed, got)
	}
}

// watchedAudit is a journal that says when it changed, as *audit.Journal
// does when any operator on any box appends.
type watchedAudit struct {
	fakeAudit
	ch   chan struct{}
	subs int
}

func (w *watchedAudit) Changes(ctx context.Context) <-chan struct{} {
	w.subs++
	return w.ch
}

// Told of a change, the journal looks at once, not at its next tick, and
// waits for the next change on the same subscription.
func TestJournalLooksAgainWhenTold(t *testing.T) {
	t.Parallel()
	log := &watchedAudit{ch: make(chan struct{}, 1)}
	j := newJournal(testCommon(t, nil), log, paneCommands)
	wait := j.watch()
	if wait == nil {
		t.Fatal("a journal that can say it changed is not watched")
	}
	log.add(record(1, "alice", audit.ActionCommandSend, "1FTFW1ET5DFC10312", "lock_door"))
	log.ch <- struct{}{}
	msg := wait()
	env, ok := msg.(envelope)
	if !ok || !j.handles(env.msg) {
		t.Fatalf("the wait ended with %#v", msg)
	}
	cmds, ok := j.update(env)().(tea.BatchMsg)
	if !ok || len(cmds) != 2 {
		t.Fatalf("a change did not both look and wait again")
	}
	res := cmds[0]().(envelope)
	if j.update(res); len(j.records) != 1 || log.count() != 1 {
		t.Fatalf("after the change: %d records, %d looks", len(j.records), log.count())
	}
	if log.subs != 1 {
		t.Errorf("%d subscriptions, want one for the journal's life", log.subs)
	}
	close(log.ch) // the session ended
	if msg := cmds[1](); msg != nil {
		t.Errorf("the wait outlived its subscription: %#v", msg)
	}
	// A journal that cannot say it changed is only polled.
	if newJournal(testCommon(t, nil), &fakeAudit{}, paneCommands).watch() != nil {
		t.Error("watching a journal that cannot say it changed")
	}
}

package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/commands"
)

const (
	envHelper  = "FLEETDECK_AUDIT_HELPER" // mode: "intent" or "accepted"
	envJournal = "FLEETDECK_AUDIT_HELPER_DB"
)

// TestHelperProcess is not a test: the crash tests run the test binary again
// with it as the only test, and it plays a console that dies mid-command.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(envHelper)
	if mode == "" {
		t.Skip("helper process for the crash tests")
	}
	var st Store
	var err error
	if dsn, ok := strings.CutPrefix(os.Getenv(envJournal), "postgres:"); ok {
		st, err = OpenPostgres(context.Background(), dsn, "")
	} else {
		st, err = OpenSQLite(strings.TrimPrefix(os.Getenv(envJournal), "sqlite:"))
	}
	if err != nil {
		os.Exit(2)
	}
	j := New(st)
	ctx := context.Background()
	// Step two of an ignition command, as CommandActions.Send writes it.
	seq, err := j.Intent(ctx, alice, ActionCommandConfirm, "WBA5R1C51KAJ98123", "disable_ignition")
	if err != nil {
		os.Exit(3)
	}
	if mode == "accepted" {
		if err := j.Outcome(ctx, alice, seq, "Pending id cmd-42", "cmd-42"); err != nil {
			os.Exit(4)
		}
	}
	os.Stdout.WriteString("ready\n")
	// Following the command, or waiting for its answer: the parent kills
	// us here. Never block forever if it does not.
	time.Sleep(30 * time.Second)
	os.Exit(5)
}

// crashMidCommand runs the helper on s's journal and SIGKILLs it once it
// said ready.
func crashMidCommand(t *testing.T, s *testStore, mode string) {
	t.Helper()
	path := "sqlite:" + s.path
	if s.kind == "postgres" {
		path = "postgres:" + s.dsn
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envHelper+"="+mode, envJournal+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line) == "ready"
	}()
	select {
	case ok := <-ready:
		if !ok {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("helper did not get ready")
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("helper timed out")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper did not die of SIGKILL: %v", err)
	}
}

func TestJournalKilledBeforeOutcome(t *testing.T) {
	forEachStore(t, testKilledBeforeOutcome)
}

func testKilledBeforeOutcome(t *testing.T, s *testStore) {
	s.open(t).Close() // create it
	crashMidCommand(t, s, "intent")

	j := s.open(t)
	ctx := context.Background()
	recs, err := j.List(ctx, Filter{})
	if err != nil || len(recs) != 1 {
		t.Fatalf("after the crash: %+v (%v)", recs, err)
	}
	if r := recs[0]; r.Action != ActionCommandConfirm || r.Command != "disable_ignition" || r.Known() || r.Result() != OutcomeUnknown {
		t.Errorf("record %+v says %q, want the intent with %q", r.Entry, r.Result(), OutcomeUnknown)
	}
	// No id was ever seen: nothing to follow.
	if un, err := j.Unfinished(ctx); err != nil || len(un) != 0 {
		t.Errorf("unfinished: %+v (%v)", un, err)
	}
	if rep, err := j.Verify(ctx, VerifyOptions{}); err != nil || !rep.OK || rep.Entries != 1 {
		t.Errorf("verify after the crash: %+v (%v)", rep, err)
	}
}

func TestJournalKilledBetweenAcceptAndFinalStatus(t *testing.T) {
	forEachStore(t, testKilledBetweenAcceptAndFinalStatus)
}

func testKilledBetweenAcceptAndFinalStatus(t *testing.T, s *testStore) {
	s.open(t).Close() // create it
	crashMidCommand(t, s, "accepted")

	// The restart.
	j := s.open(t)
	ctx := context.Background()
	recs, err := j.List(ctx, Filter{})
	if err != nil || len(recs) != 1 {
		t.Fatalf("after the crash: %+v (%v)", recs, err)
	}
	if _, ok := recs[0].Final(); ok || !recs[0].AwaitsFinal() || recs[0].AcceptedID() != "cmd-42" ||
		recs[0].Result() != "Pending id cmd-42; final status unknown" {
		t.Fatalf("record says %q", recs[0].Result())
	}

	var mu sync.Mutex
	var followed []string
	follow := func(ctx context.Context, id string) (commands.Command, error) {
		mu.Lock()
		followed = append(followed, id)
		mu.Unlock()
		return commandWith(id, "Success", `{"location":"secret place"}`), nil
	}
	if err := Resume(ctx, j, follow, alice); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if len(followed) != 1 || followed[0] != "cmd-42" {
		t.Fatalf("followed %v, want cmd-42", followed)
	}
	recs, _ = j.List(ctx, Filter{})
	final, ok := recs[0].Final()
	if !ok || final.Outcome != "Success" || final.CommandID != "cmd-42" || final.Ref != recs[0].Seq {
		t.Fatalf("final status after resume: %+v", final)
	}
	if un, _ := j.Unfinished(ctx); len(un) != 0 {
		t.Errorf("still unfinished: %+v", un)
	}
	// A second start has nothing left to follow.
	followed = nil
	if err := Resume(ctx, j, follow, alice); err != nil || len(followed) != 0 {
		t.Errorf("second resume followed %v (%v)", followed, err)
	}
	if rep, err := j.Verify(ctx, VerifyOptions{}); err != nil || !rep.OK || rep.Entries != 3 {
		t.Errorf("verify: %+v (%v)", rep, err)
	}
}

func TestResumeKeepsFailuresForNextStart(t *testing.T) {
	j, _ := openTemp(t)
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		seq := intent(t, j, ActionCommandSend, "WBA5R1C51KAJ98123", "lock_door")
		outcome(t, j, seq, "Pending id "+id, id)
	}
	err := Resume(ctx, j, func(ctx context.Context, id string) (commands.Command, error) {
		if id == "a" {
			return commands.Command{}, errors.New("HTTP 503")
		}
		return commandWith(id, "Error", `"Vehicle offline"`), nil
	}, alice)
	if err == nil || !strings.Contains(err.Error(), "resume command a") {
		t.Fatalf("resume error %v, want the failure of a", err)
	}
	un, _ := j.Unfinished(ctx)
	if len(un) != 1 || un[0].CommandID != "a" {
		t.Errorf("unfinished %+v, want a only", un)
	}
}

func commandWith(id, status, detail string) commands.Command {
	c := commands.Command{ID: id, VIN: "WBA5R1C51KAJ98123", Command: "lock_door", Status: commands.Status(status)}
	if detail != "" {
		c.Detail = json.RawMessage(detail)
	}
	return c
}

package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/config"
)

// withPolicy writes a copy of the sandbox's config with policy lines in
// its [commands] section and returns its path.
func withPolicy(t *testing.T, cfg string, lines ...string) string {
	t.Helper()
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "[commands]\n", "[commands]\n"+strings.Join(lines, "\n")+"\n", 1)
	if text == string(data) {
		t.Fatal("the sandbox's config has no [commands] section")
	}
	path := filepath.Join(filepath.Dir(cfg), "policy.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// bobsDesk is another operator on the same journal: an SSH session of the
// ops box, say.
func bobsDesk(t *testing.T, cfg string) (*audit.ApprovalDesk, *audit.Journal) {
	t.Helper()
	c, err := config.Load(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	j, err := audit.Open(c.Audit.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return audit.Approvals(j, audit.SSHActor("bob", "SHA256:Ym9ib2Jib2I", "operator")), j
}

func TestCommandSendFourEyes(t *testing.T) {
	isolate(t)
	_, sb := startSandbox(t)
	cfg := withPolicy(t, sb, `approval = ["disable_ignition"]`)
	const v = "WBA5R1C51KAJ98123"
	send := func(args ...string) result {
		return run(t, "", append([]string{"--config", cfg, "command", "send", v, "disable_ignition", "--reason", "stolen, case 118"}, args...)...)
	}

	r := send()
	if r.code != ExitUsage {
		t.Fatalf("no approval: exit %d: %s", r.code, r.stderr)
	}
	oneLine(t, r, "needs a second operator's approval ([commands] approval): ask with --request")
	if r := run(t, "", "--config", cfg, "command", "send", v, "lock_door", "--request"); r.code != ExitUsage || !strings.Contains(r.stderr, "lock_door needs no approval") {
		t.Fatalf("--request where none is needed: exit %d %s", r.code, r.stderr)
	}

	r = send("--request")
	if r.code != 0 || !strings.Contains(r.stdout, "waits for a second operator (fleetdeck command approve ") {
		t.Fatalf("request: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	id := strings.Fields(r.stdout)[1]
	id = strings.TrimSuffix(id, ":")
	r = send()
	if r.code != ExitUsage || !strings.Contains(r.stderr, "your request "+id+" is still waiting") {
		t.Fatalf("before the decision: exit %d: %s", r.code, r.stderr)
	}
	// This operator cannot approve their own.
	r = run(t, "", "--config", cfg, "command", "approve", id)
	if r.code != ExitFailure {
		t.Fatalf("self-approval: exit %d", r.code)
	}
	oneLine(t, r, "you cannot approve or reject your own request")

	// The list shows it, to everyone on the journal.
	r = run(t, "", "--config", cfg, "command", "requests", "--json")
	var list []audit.Approval
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 1 || list[0].Reason != "stolen, case 118" || list[0].State != audit.ApprovalPending {
		t.Fatalf("requests: %s (%v)", r.stdout, err)
	}
	desk, j := bobsDesk(t, cfg)
	n, _ := strconv.ParseInt(id, 10, 64)
	if _, err := desk.Decide(context.Background(), n, true); err != nil {
		t.Fatal(err)
	}

	// Approved: now the code, with the approval on the journal.
	r = send()
	if r.code != ExitNeedsCode || !strings.Contains(r.stdout, "Confirmation code: ") {
		t.Fatalf("after approval: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	code := strings.Fields(r.stdout[strings.Index(r.stdout, "Confirmation code: "):])[2]
	if r = send("--code", code, "--wait"); r.code != 0 {
		t.Fatalf("step two: exit %d: %s", r.code, r.stderr)
	}
	// Spent: another run needs a new request.
	if r = send(); r.code != ExitUsage {
		t.Fatalf("a spent approval: exit %d: %s", r.code, r.stderr)
	}
	a, err := desk.Approval(context.Background(), n)
	if err != nil || a.State != audit.ApprovalUsed || a.Decider.User != "bob" || a.Requester.User != audit.LocalActor().User {
		t.Fatalf("request after use: %+v %v", a, err)
	}
	// The journal has requester, approver, reason and the request each
	// command carried out.
	recs, _ := j.List(context.Background(), audit.Filter{})
	var seen []string
	for _, r := range recs {
		n, _ := r.Note()
		seen = append(seen, string(r.Action)+" "+r.Actor.User+" req="+strconv.FormatInt(n.Request, 10)+" why="+n.Reason)
	}
	me := audit.LocalActor().User
	want := []string{
		"approval.request " + me + " req=0 why=stolen, case 118",
		"command.confirmation " + me + " req=" + id + " why=stolen, case 118",
		"command.confirm " + me + " req=" + id + " why=stolen, case 118",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Fatalf("journal:\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	if got := recs[0].Result(); !strings.Contains(got, "approved by bob") || !strings.Contains(got, "used: disable_ignition id ") {
		t.Fatalf("the request's record: %q", got)
	}
	// fleetdeck audit shows who asked, who approved, and why.
	r = run(t, "", "--config", cfg, "audit")
	if r.code != 0 || !strings.Contains(r.stdout, "approval.request") || !strings.Contains(r.stdout, "approved by bob") ||
		!strings.Contains(r.stdout, "· why: stolen, case 118") {
		t.Fatalf("audit: exit %d:\n%s", r.code, r.stdout)
	}
}

// --request --wait goes on by itself once another operator approves.
func TestCommandSendRequestWait(t *testing.T) {
	isolate(t)
	_, sb := startSandbox(t)
	cfg := withPolicy(t, sb, `approval = ["disable_ignition"]`)
	desk, _ := bobsDesk(t, cfg)
	done := make(chan result, 1)
	go func() {
		done <- run(t, "", "--config", cfg, "command", "send", "WBA5R1C51KAJ98123", "disable_ignition", "--reason", "stolen", "--request", "--wait", "--json")
	}()
	var id int64
	for deadline := time.Now().Add(10 * time.Second); id == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no request appeared")
		}
		if list, _ := desk.Approvals(context.Background()); len(list) == 1 {
			id = list[0].ID
		}
	}
	if _, err := desk.Decide(context.Background(), id, true); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		var conf map[string]any
		if r.code != ExitNeedsCode || json.Unmarshal([]byte(r.stdout), &conf) != nil || conf["request"] != float64(id) || len(conf["code"].(string)) != 6 {
			t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "approved by bob") {
			t.Errorf("stderr %q", r.stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the waiting send did not go on after the approval")
	}

	// A rejection ends the wait with exit 1.
	go func() {
		done <- run(t, "", "--config", cfg, "command", "send", "WBA5R1C51KAJ98123", "disable_ignition", "--reason", "again", "--request", "--wait")
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no second request appeared")
		}
		if list, _ := desk.Approvals(context.Background()); len(list) == 2 && list[0].State == audit.ApprovalPending {
			id = list[0].ID
			break
		}
	}
	if _, err := desk.Decide(context.Background(), id, false); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.code != ExitFailure || !strings.Contains(r.stderr, "was rejected by bob: disable_ignition was not sent") {
		t.Fatalf("rejected: exit %d: %s", r.code, r.stderr)
	}
}

func TestCommandApproveErrors(t *testing.T) {
	isolate(t)
	_, sb := startSandbox(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"approve", "x1"}, ExitUsage, "ID must be a request number"},
		{[]string{"approve", "42"}, ExitUsage, "no such approval request (fleetdeck command requests lists them)"},
		{[]string{"reject"}, ExitUsage, "missing ID"},
		{[]string{"withdraw", "7"}, ExitUsage, "no such approval request"},
	} {
		r := run(t, "", append([]string{"--config", sb, "command"}, tc.args...)...)
		if r.code != tc.code {
			t.Errorf("%v: exit %d, want %d (%s)", tc.args, r.code, tc.code, r.stderr)
		}
		oneLine(t, r, tc.want)
	}
}

// [commands] confirm asks y/n on stdin, with what the CLI knows.
func TestCommandSendConfirmPolicy(t *testing.T) {
	isolate(t)
	_, sb := startSandbox(t)
	cfg := withPolicy(t, sb, `confirm = ["unlock_door"]`)
	const v = "WBA5R1C51KAJ98123"
	args := []string{"--config", cfg, "command", "send", v, "unlock_door"}
	r := run(t, "n\n", args...)
	if r.code != ExitFailure || !strings.Contains(r.stderr, "unlock_door on WBA5R1C51KAJ98123 (bmw, clearance approved)") ||
		!strings.Contains(r.stderr, "not sent: unlock_door was not confirmed") {
		t.Fatalf("n: exit %d: %s", r.code, r.stderr)
	}
	if r = run(t, "", args...); r.code != ExitUsage || !strings.Contains(r.stderr, "answer y, or pass --yes") {
		t.Fatalf("no answer: exit %d: %s", r.code, r.stderr)
	}
	if r = run(t, "y\n", args...); r.code != 0 || !strings.Contains(r.stdout, "unlock_door") {
		t.Fatalf("y: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	if r = run(t, "", append(args, "--yes")...); r.code != 0 {
		t.Fatalf("--yes: exit %d: %s", r.code, r.stderr)
	}
	// Not listed: no question.
	if r = run(t, "", "--config", cfg, "command", "send", v, "lock_door"); r.code != 0 {
		t.Fatalf("lock_door: exit %d: %s", r.code, r.stderr)
	}
}

package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestCommandPolicyLoads(t *testing.T) {
	isolate(t)
	cfg, _, err := loadString(t, commandsOK+`approval = ["disable_ignition", "unlock_door"]
confirm = ["unlock_door", "lock_door", "open_trunk"]
`)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Policy()
	if !reflect.DeepEqual(p.Approval, []string{"disable_ignition", "unlock_door"}) || !reflect.DeepEqual(p.Confirm, []string{"unlock_door", "lock_door", "open_trunk"}) {
		t.Fatalf("policy %+v", p)
	}
	for _, tc := range []struct {
		cmd                   string
		confirm, approve, why bool
	}{
		{"disable_ignition", false, true, true},
		{"enable_ignition", false, false, false},
		{"unlock_door", true, true, true},
		{"lock_door", true, false, false},
		{"open_trunk", true, false, false},
		{"location", false, false, false},
	} {
		if p.NeedsConfirm(tc.cmd) != tc.confirm || p.NeedsApproval(tc.cmd) != tc.approve || p.NeedsReason(tc.cmd) != tc.why {
			t.Errorf("%s: confirm %v approval %v reason %v", tc.cmd, p.NeedsConfirm(tc.cmd), p.NeedsApproval(tc.cmd), p.NeedsReason(tc.cmd))
		}
	}
}

// Without a policy, disable_ignition still needs its reason and nothing
// else is asked.
func TestNoPolicyStillAsksWhy(t *testing.T) {
	isolate(t)
	cfg, _, err := loadString(t, commandsOK)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Policy()
	if !p.NeedsReason("disable_ignition") || p.NeedsApproval("disable_ignition") || p.NeedsConfirm("unlock_door") {
		t.Fatalf("default policy %+v", p)
	}
	if (&Config{}).Policy().NeedsApproval("disable_ignition") {
		t.Fatal("no [commands] section asks for approval")
	}
}

func TestCommandPolicyErrors(t *testing.T) {
	isolate(t)
	for _, tc := range []struct{ line, want string }{
		{`approval = ["disable_ignitoin"]`, `did you mean "disable_ignition"`},
		{`confirm = ["unlock_dor"]`, `did you mean "unlock_door"`},
		{`approval = "disable_ignition"`, "an array of command names"},
		{`confirm = [1]`, "must be an array of strings"},
		{`confirm = ["Lock Door"]`, "is not a command name"},
		{`approval = [""]`, "must not be empty"},
		{`approval = ["lock_door", "lock_door"]`, "listed twice"},
	} {
		_, path, err := loadString(t, commandsOK+tc.line+"\n")
		if err == nil {
			t.Errorf("%s: accepted", tc.line)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path+":3") {
			t.Errorf("%s: %v; want %q with the line", tc.line, err, tc.want)
		}
	}
	// Validate catches the same in a Config built in code.
	c := &Config{Commands: &Commands{BaseURL: "https://cmd.example", Approval: []string{"disable_ignitoin"}}, Audit: Audit{Path: "/tmp/a.db"}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "commands.approval") {
		t.Fatalf("Validate: %v", err)
	}
}

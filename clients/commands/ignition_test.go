package commands

import (
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/config"
)

func TestEnglishMessage(t *testing.T) {
	for _, tc := range []struct {
		pt, en string
		ok     bool
	}{
		{"Atenção: o comando de desligar a ignição será enviado ao veículo. Confirme apenas se o veículo estiver parado em local seguro.",
			"Warning: the command to switch the ignition off will be sent to the vehicle. Confirm only if the vehicle is stopped in a safe place.", true},
		{"  atenção:  o comando de ligar a ignição será enviado ao veículo.\nConfirme apenas se o veículo puder voltar a funcionar com segurança ",
			"Warning: the command to switch the ignition on will be sent to the vehicle. Confirm only if the vehicle can safely run again.", true},
		// One unknown sentence and nothing is translated: half a warning
		// would read as all of it.
		{"Atenção: o comando de desligar a ignição será enviado ao veículo. O motorista será notificado.", "", false},
		{"Atenção: o veículo será ligado.", "", false},
		{"", "", false},
	} {
		en, ok := EnglishMessage(tc.pt)
		if en != tc.en || ok != tc.ok {
			t.Errorf("EnglishMessage(%q) = %q, %v", tc.pt, en, ok)
		}
	}
}

func TestCodeBookExplains(t *testing.T) {
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	const vin, other = "WBA12345678901234", "1FTFW1ET5DFC10312"
	var b CodeBook
	b.Issued(IssuedCode{VIN: vin, Command: "disable_ignition", Code: "111111", At: t0})
	b.Issued(IssuedCode{VIN: other, Command: "disable_ignition", Code: "222222", At: t0.Add(10 * time.Second)})
	b.Issued(IssuedCode{VIN: vin, Command: "enable_ignition", Code: "333333", At: t0.Add(20 * time.Second)})
	b.Issued(IssuedCode{VIN: vin, Command: "disable_ignition", Code: "444444", At: t0.Add(30 * time.Second)})
	invalid := &DetailError{Kind: ErrConfirmationInvalid, Detail: "Confirmation invalid"}
	used := &DetailError{Kind: ErrConfirmationUsed, Detail: "Confirmation already used"}
	now := t0.Add(time.Minute)
	for _, tc := range []struct {
		name, typed string
		err         error
		at          time.Time
		want        CodeProblem
		text        string
	}{
		{"wrong", "999999", invalid, now, CodeWrong, "not the code the platform issued"},
		{"another vehicle's", "222222", invalid, now, CodeForOther, "issued for 1FTFW1ET5DFC10312 (disable_ignition), not for this vehicle"},
		{"the other command's", "333333", invalid, now, CodeForOther, "issued for enable_ignition on this vehicle"},
		{"earlier code", "111111", invalid, now, CodeSuperseded, "earlier code"},
		{"used", "444444", used, now, CodeUsed, "already used"},
		{"expired", "444444", invalid, t0.Add(30*time.Second + CodeTTL + 14*time.Second), CodeExpired, "valid 2m and this one was issued 2m14s ago"},
		{"expired, not sent", "444444", nil, t0.Add(30*time.Second + CodeTTL), CodeExpired, "issued 2m ago"},
		{"replaced elsewhere", "444444", invalid, now, CodeSuperseded, "newer one was requested"},
		// The other vehicle's code has expired: it is simply wrong here.
		{"stale other", "222222", invalid, t0.Add(10*time.Second + CodeTTL + time.Second), CodeWrong, "not the code"},
	} {
		got := b.Explain(vin, "disable_ignition", tc.typed, tc.err, tc.at)
		if got.Problem != tc.want || !strings.Contains(got.What, tc.text) {
			t.Errorf("%s: %+v", tc.name, got)
		}
	}
	if got := b.Explain("VF1AB000123456789", "disable_ignition", "123456", invalid, now); got.Problem != CodeRefused {
		t.Errorf("a vehicle this book knows nothing of: %+v", got)
	}
}

// The CLI knows only when codes were issued (the journal never holds one).
func TestCodeBookFromTimesOnly(t *testing.T) {
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	invalid := &DetailError{Kind: ErrConfirmationInvalid}
	var b CodeBook
	b.Issued(IssuedCode{VIN: "WBA12345678901234", Command: "disable_ignition", At: t0})
	if got := b.Explain("WBA12345678901234", "disable_ignition", "123456", invalid, t0.Add(3*time.Minute)); got.Problem != CodeExpired {
		t.Errorf("after the validity: %+v", got)
	}
	if got := b.Explain("WBA12345678901234", "disable_ignition", "123456", invalid, t0.Add(time.Minute)); got.Problem != CodeWrong ||
		got.What != "that is not the code issued for this vehicle 1m ago (still valid for 1m), or a newer one replaced it" {
		t.Errorf("within it: %+v", got)
	}
	got := b.Explain("1FTFW1ET5DFC10312", "disable_ignition", "123456", invalid, t0.Add(40*time.Second))
	if got.Problem != CodeForOther || !strings.Contains(got.What, "WBA12345678901234 (disable_ignition) 40s ago") {
		t.Errorf("no code for this vehicle, one for another: %+v", got)
	}
}

func TestCodeBookIsBounded(t *testing.T) {
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	var b CodeBook
	for i := range 1000 {
		b.Issued(IssuedCode{VIN: "WBA12345678901234", Command: "disable_ignition", Code: "000000", At: t0.Add(time.Duration(i) * time.Second)})
	}
	if n := len(b.issued); n > maxCodeMemory {
		t.Fatalf("%d codes kept", n)
	}
	b.Issued(IssuedCode{VIN: "WBA12345678901234", Command: "disable_ignition", At: t0.Add(3 * time.Hour)})
	if n := len(b.issued); n != 1 {
		t.Fatalf("codes older than an hour kept: %d", n)
	}
}

// The config's typo check knows every documented command: a near miss of
// each is refused with the right suggestion.
func TestConfigKnowsTheDocumentedCommands(t *testing.T) {
	for _, c := range KnownCommands {
		cfg := &config.Config{Commands: &config.Commands{BaseURL: "https://cmd.example", Confirm: []string{c}}, Audit: config.Audit{Path: "/tmp/a.db"}}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s refused: %v", c, err)
		}
		cfg.Commands.Confirm = []string{c + "s"}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `did you mean "`+c+`"`) {
			t.Errorf("%ss: %v", c, err)
		}
	}
}

package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// headerEnv is bob's console with every part of the tab bar's right end
// present: alice's request to approve, an error he has not seen, two marked
// vehicles, and linked selection.
func headerEnv(t *testing.T, w, h int) *Model {
	t.Helper()
	m := started(t, safetyEnv(), w, h)
	markRows(t, m, "1FTFW1ET5DFC10312", "WDD1234567A123456")
	drive(t, m, notifyMsg{level: levelError, text: "list vehicles: timed out"})
	return m
}

func headerLine(view string) string {
	line, _, _ := strings.Cut(view, "\n")
	return line
}

// At 80 columns the whole right end does not fit: it used to vanish
// (all but the badge). Now every part stays, in its short form.
func TestHeaderAt80KeepsEveryPartShort(t *testing.T) {
	t.Parallel()
	m := headerEnv(t, 80, 24)
	h := headerLine(m.View())
	mustContain(t, h, "2 Tele", "⚑ 1 (A) ✗ 1 (n) · ✓ 2 · ⇄ ")
	if !strings.HasSuffix(h, "⇄ ") || ansi.StringWidth(h) != 80 {
		t.Fatalf("header is not 80 cells ending in the link state: %q", h)
	}
	// Wide enough, everything is in full.
	m = headerEnv(t, 200, 50)
	mustContain(t, headerLine(m.View()), " ⚑ 1 to approve (A) ✗ 1 new (n) · ✓ 2 marked · ⇄ linked ")
}

// As the room shrinks, the least important part is shortened, then
// dropped, before anything more important changes; room left over goes to
// the full form of the most important part first.
func TestHeaderRightDropsLeastImportantFirst(t *testing.T) {
	t.Parallel()
	m := headerEnv(t, 200, 50)
	for _, tc := range []struct {
		room int
		want string
	}{
		{56, " ⚑ 1 to approve (A) ✗ 1 new (n) · ✓ 2 marked · ⇄ linked "},
		{55, " ⚑ 1 to approve (A) ✗ 1 new (n) · ✓ 2 marked · ⇄ "},
		{48, " ⚑ 1 to approve (A) ✗ 1 new (n) · ✓ 2 · ⇄ "},
		{41, " ⚑ 1 to approve (A) ✗ 1 (n) · ✓ 2 · ⇄ "},
		{37, " ⚑ 1 (A) ✗ 1 new (n) · ✓ 2 · ⇄ "},
		{30, " ⚑ 1 (A) ✗ 1 (n) · ✓ 2 · ⇄ "},
		{26, " ⚑ 1 (A) ✗ 1 (n) · ✓ 2 "}, // the link state goes first
		{22, " ⚑ 1 (A) ✗ 1 new (n) "},   // then the marks
		{16, " ⚑ 1 (A) "},               // then the errors
		{8, ""},
	} {
		got := m.headerRight(tc.room)
		if got != tc.want {
			t.Errorf("room %d: got %q, want %q", tc.room, got, tc.want)
		}
		if ansi.StringWidth(got) > tc.room {
			t.Errorf("room %d: %q is %d cells", tc.room, got, ansi.StringWidth(got))
		}
	}
	drive(t, m, keyMsg("L"))
	if got := m.headerRight(56); got != " ⚑ 1 to approve (A) ✗ 1 new (n) · ✓ 2 marked · unlinked " {
		t.Fatalf("unlinked: %q", got)
	}
}

// Narrower than the tabs and the badge's short form: the tabs give way,
// since every screen says that a request waits.
func TestHeaderBadgeOutlastsTheTabs(t *testing.T) {
	t.Parallel()
	m := headerEnv(t, 40, 24)
	h := headerLine(m.View())
	if !strings.HasSuffix(h, " ⚑ 1 (A) ") || ansi.StringWidth(h) != 40 {
		t.Fatalf("40 columns: %q", h)
	}
}

package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// CommandPolicy is what [commands] approval and confirm ask of a command
// before it is sent, wherever it is sent from (the console, the CLI, an SSH
// session): a y/n confirmation, a second operator's approval. The ui asks
// for what it requires; the journal's command layer refuses what lacks it.
type CommandPolicy struct {
	// Confirm lists commands that need a y/n confirmation (with the
	// vehicle's facts) before they are sent.
	Confirm []string
	// Approval lists commands that a second operator must approve first
	// (four eyes).
	Approval []string
}

// NeedsConfirm reports whether command needs a y/n confirmation.
func (p CommandPolicy) NeedsConfirm(command string) bool { return slices.Contains(p.Confirm, command) }

// NeedsApproval reports whether command needs a second operator's approval.
func (p CommandPolicy) NeedsApproval(command string) bool {
	return slices.Contains(p.Approval, command)
}

// NeedsReason reports whether the operator must say why: immobilising a
// vehicle always needs a reason, and so does every request for approval
// (the approver decides on it).
func (p CommandPolicy) NeedsReason(command string) bool {
	return command == "disable_ignition" || p.NeedsApproval(command)
}

// Policy is the [commands] section's policy; the zero policy (no section)
// asks for nothing beyond the reason for disable_ignition.
func (c *Config) Policy() CommandPolicy {
	if c.Commands == nil {
		return CommandPolicy{}
	}
	return CommandPolicy{Confirm: slices.Clone(c.Commands.Confirm), Approval: slices.Clone(c.Commands.Approval)}
}

// documentedCommands are the commands document 002 names (the commands
// client's KnownCommands; a test keeps the two lists equal). A policy may
// name others, since mobway offers more to some vehicles, but a name one
// typo away from a documented command is refused: a misspelt
// "disable_ignitoin" would otherwise switch four eyes off in silence.
var documentedCommands = []string{
	"lock_door", "unlock_door", "location", "diagnostics", "enable_ignition", "disable_ignition",
}

// checkCommandList checks a policy list: command names as mobway spells
// them (lower case, digits, underscores), no near-misses of a documented
// command, no repeats.
func checkCommandList(names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		switch {
		case n == "":
			return errors.New("a command name must not be empty")
		case strings.Trim(n, "abcdefghijklmnopqrstuvwxyz0123456789_") != "":
			return fmt.Errorf("%q is not a command name (lower-case letters, digits and _, as mobway spells them)", n)
		case seen[n]:
			return fmt.Errorf("%q is listed twice", n)
		}
		seen[n] = true
		if slices.Contains(documentedCommands, n) {
			continue
		}
		for _, known := range documentedCommands {
			if editDistance(n, known) <= 2 {
				return fmt.Errorf("%q is not a documented command: did you mean %q?", n, known)
			}
		}
	}
	return nil
}

// commandList decodes a policy list, so that a wrong value is reported with
// its line.
type commandList []string

func (l *commandList) UnmarshalTOML(v any) error {
	out, err := stringList(v, `an array of command names such as ["disable_ignition"]`, checkCommandList)
	if err == nil {
		*l = out
	}
	return err
}

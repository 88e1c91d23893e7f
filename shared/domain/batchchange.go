package domain

import (
	"fmt"
	"regexp"
)

var (
	protocolNumberRE = regexp.MustCompile(`^[0-9]{7,}$`)
	messageIDRE      = regexp.MustCompile(`^<[^<>\s@]+@[^<>\s@]+>$`)
)

// ValidMessageID reports whether id is a Message-ID as stored: <local@domain>.
func ValidMessageID(id string) bool { return messageIDRE.MatchString(id) }

// ValidProtocolNumber reports whether n is a protocol number as stored:
// seven or more digits, zero-padded.
func ValidProtocolNumber(n string) bool { return protocolNumberRE.MatchString(n) }

// Check is what every store checks of a change before it reads the batch:
// a known state, a reason to fail it, a Message-ID's form.
func (c BatchChange) Check() error {
	switch {
	case !c.To.Valid():
		return Errorf(EINVALID, "batch %s: unknown state %q", c.ID, c.To)
	case c.To == BatchFailed && !c.Reason.Code.Known():
		return Errorf(EINVALID, "batch %s: a reason is required to fail it", c.ID)
	case c.MessageID != "" && !ValidMessageID(c.MessageID):
		return Errorf(EINVALID, "message id %q: want <local@domain>", c.MessageID)
	}
	return nil
}

// CheckAgainst is what every store checks of a change against the batch as
// stored (its state, version, protocol number and Message-ID), once it is
// known not to be a re-run of the same move: nil, the move may be written.
func (c BatchChange) CheckAgainst(from BatchState, version int64, number, messageID string) error {
	switch {
	case c.From != "" && from != c.From:
		return Errorf(ECONFLICT, "batch %s is %s, not %s", c.ID, from, c.From)
	case c.Version != 0 && version != c.Version:
		return Errorf(ECONFLICT, "batch %s changed meanwhile (version %d, not %d)", c.ID, version, c.Version)
	case !from.CanAdvance(c.To):
		return Errorf(ECONFLICT, "batch %s cannot go from %s to %s", c.ID, from, c.To)
	case c.Protocol.Number != "" && number != "" && c.Protocol.Number != number:
		return Errorf(ECONFLICT, "batch %s is registered already as %s", c.ID, number)
	case c.Protocol.Number != "" && (!ValidProtocolNumber(c.Protocol.Number) || c.Protocol.Date.IsZero()):
		return Errorf(EINVALID, "batch %s: protocol number %q: want 7 or more digits and a date", c.ID, c.Protocol.Number)
	case c.To == BatchProtocolled && c.Protocol.Number == "" && number == "":
		return Errorf(EINVALID, "batch %s: a protocol number is required", c.ID)
	case c.To != BatchFailed && c.To != BatchProtocolled && c.Protocol.Number == "" && number == "":
		// Nothing reaches the Procura without a protocol number.
		return Errorf(ECONFLICT, "batch %s cannot be %s: it has no protocol number", c.ID, c.To)
	case c.To != BatchFailed && c.To != BatchProtocolled && c.MessageID == "" && messageID == "":
		return Errorf(ECONFLICT, "batch %s cannot be %s: it has no Message-ID (SetMessageID before sending)", c.ID, c.To)
	case c.MessageID != "" && messageID != "" && c.MessageID != messageID:
		return Errorf(ECONFLICT, "batch %s has Message-ID %s already", c.ID, messageID)
	}
	return nil
}

// EventDetail is the detail of the move's event (English, for operators):
// the change's own, else what the move says.
func (c BatchChange) EventDetail() string {
	switch {
	case c.Detail != "":
		return c.Detail
	case c.To == BatchFailed:
		return "failed: " + c.Reason.String()
	case c.Protocol.Number != "":
		return fmt.Sprintf("protocolled as %s of %s", c.Protocol.Reference(), c.Protocol.Date.Italian())
	}
	return string(c.To)
}

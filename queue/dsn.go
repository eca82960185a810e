package queue

import (
	"io"

	"github.com/m365send/m365send/queue/dsn"
)

// DSNInfo is what a delivery status notification needs besides the
// message.
type DSNInfo = dsn.Info

// DSN builds a delivery status notification (RFC 3464, see queue/dsn)
// telling m's envelope sender that the recipients with Status Failed were
// not delivered. original is the message's data; only its header is read.
// The result has CRLF line endings.
func DSN(m *Message, original io.Reader, info DSNInfo) ([]byte, error) {
	dm := &dsn.Message{ID: string(m.ID), From: m.From, Queued: m.Queued, Attempts: m.Attempts}
	for _, r := range m.Recipients {
		if r.Status != Failed {
			continue
		}
		dr := dsn.Recipient{Address: r.Address, Updated: r.Updated}
		if r.Error != nil {
			dr.Error = &dsn.Failure{Text: r.Error.Error(), Advice: r.Error.Advice, Code: r.Error.Code, Enhanced: r.Error.Enhanced}
		}
		dm.Failed = append(dm.Failed, dr)
	}
	return dsn.Build(dm, original, info)
}

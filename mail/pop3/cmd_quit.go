package pop3

import "fmt"

// handleQuit answers QUIT (RFC 1939 sections 4 and 6). After login it enters
// the UPDATE state: the messages marked by DELE are expunged from the store,
// durably, before the answer; if that fails the answer is -ERR and nothing
// is claimed deleted.
func (c *conn) handleQuit(cmd command) error {
	if c.state == stateAuthorization {
		c.writeOK("bye")
		return errQuit
	}
	c.state = stateUpdate
	var uids []uint32
	for i, m := range c.msgs {
		if c.deleted[i] {
			uids = append(uids, m.UID)
		}
	}
	if len(uids) > 0 {
		if err := c.drop.Expunge(c.s.ctx, uids); err != nil {
			c.log.Error("quit: expunge", "messages", len(uids), "err", err)
			c.release()
			c.writeErr(&Error{Code: CodeSysTemp, Text: "some deleted messages not removed; try again later"})
			return errQuit
		}
		c.log.Info("quit: expunged", "messages", len(uids))
	}
	c.release() // before the answer, so that the client's next login finds the maildrop free
	left := len(c.msgs) - len(uids)
	c.writeOK("%s", fmt.Sprintf("bye (%d messages left)", left))
	return errQuit
}

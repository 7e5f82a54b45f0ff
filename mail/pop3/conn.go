package pop3

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/postvault/postvault/mail/limits"
)

// state is a session state (RFC 1939 section 3).
type state int

const (
	stateAuthorization state = iota
	stateTransaction
	stateUpdate
)

// errQuit ends the session after the handler's answer.
var errQuit = errors.New("pop3: quit")

// conn is one client connection and its session.
type conn struct {
	s   *Server
	nc  net.Conn // the connection as accepted
	rw  net.Conn // what is read and written: nc, or TLS over it
	br  *bufio.Reader
	bw  *bufio.Writer
	log *slog.Logger

	tls      bool
	state    state
	user     string // from USER, for PASS
	commands int    // commands received before login

	drop        Maildrop
	account     string
	msgs        []Message // the maildrop at login; msgs[i] is message number i+1
	uidValidity uint32    // the INBOX's UIDVALIDITY at login
	deleted     []bool    // deleted[i]: message i+1 is marked by DELE
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, log: s.log.With("remote", nc.RemoteAddr().String())}
	c.setRW(&deadlineConn{Conn: nc, timeout: s.opts.IdleTimeout})
	return c
}

// setRW makes rw the connection read and written.
func (c *conn) setRW(rw net.Conn) {
	c.rw = rw
	c.br = bufio.NewReaderSize(rw, c.s.opts.MaxLineLength)
	c.bw = bufio.NewWriterSize(rw, 32<<10)
}

// serve runs the session until QUIT, an error or Close.
func (c *conn) serve(implicitTLS bool) {
	defer c.release()
	if implicitTLS {
		if err := c.startTLS(); err != nil {
			c.log.Info("tls handshake failed", "err", err)
			return
		}
	}
	greeting := "+OK POP3 server ready"
	if h := c.s.opts.Hostname; h != "" {
		greeting = "+OK " + h + " POP3 server ready"
	}
	if c.writeLine(greeting) != nil {
		return
	}
	for {
		line, err := c.readLine()
		if err == errLineTooLong {
			if c.writeErr(&Error{Text: "line too long"}) != nil || c.countPreLogin() {
				return
			}
			continue
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.log.Debug("read", "err", err)
			}
			return
		}
		if c.countPreLogin() {
			return
		}
		if err := c.execute(line); err != nil {
			if err != errQuit && !errors.Is(err, net.ErrClosed) {
				c.log.Debug("session ends", "err", err)
			}
			return
		}
	}
}

// countPreLogin counts a command in the AUTHORIZATION state and, past the
// limit, answers and reports that the connection must close.
func (c *conn) countPreLogin() bool {
	if c.state != stateAuthorization {
		return false
	}
	c.commands++
	if c.commands <= c.s.opts.MaxCommandsBeforeLogin {
		return false
	}
	c.log.Warn("too many commands before login")
	c.writeErr(&Error{Text: "too many commands before login, closing"})
	return true
}

// release gives the maildrop back; messages are not deleted here (that is
// QUIT's job).
func (c *conn) release() {
	if c.drop == nil {
		return
	}
	if err := c.drop.Close(); err != nil {
		c.log.Error("close maildrop", "account", c.account, "err", err)
	}
	c.s.unlock(c.account, c)
	c.drop = nil
}

var errLineTooLong = errors.New("pop3: line too long")

// readLine reads one line without its CRLF (a bare LF is accepted). Answers
// held back for pipelined commands (flush) are sent before it waits for
// more input.
func (c *conn) readLine() (string, error) {
	if c.bw.Buffered() > 0 {
		if buf, _ := c.br.Peek(c.br.Buffered()); bytes.IndexByte(buf, '\n') < 0 {
			if err := c.bw.Flush(); err != nil {
				return "", err
			}
		}
	}
	b, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		for err == bufio.ErrBufferFull {
			_, err = c.br.ReadSlice('\n')
		}
		if err != nil {
			return "", err
		}
		return "", errLineTooLong
	}
	if err != nil {
		return "", err
	}
	b = b[:len(b)-1]
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return string(b), nil
}

// writeLine sends one response line and flushes unless the client has
// pipelined more commands (RFC 2449 PIPELINING).
func (c *conn) writeLine(s string) error {
	c.bw.WriteString(s)
	c.bw.WriteString("\r\n")
	return c.flush()
}

func (c *conn) writeOK(format string, args ...any) error {
	return c.writeLine("+OK " + fmt.Sprintf(format, args...))
}

func (c *conn) writeErr(e *Error) error {
	return c.writeLine(e.line())
}

// flush sends what is buffered unless more pipelined commands wait.
func (c *conn) flush() error {
	if c.br.Buffered() > 0 {
		return nil
	}
	return c.bw.Flush()
}

// startTLS runs the server side of a TLS handshake on the connection.
func (c *conn) startTLS() error {
	tc := tls.Server(c.rw, c.s.opts.TLSConfig) // c.rw renews deadlines: the handshake times out too
	if err := tc.HandshakeContext(c.s.ctx); err != nil {
		return err
	}
	c.tls = true
	c.setRW(tc)
	return nil
}

// insecureAuthAllowed reports whether plaintext credentials may be sent now.
func (c *conn) insecureAuthAllowed() bool {
	return c.tls || c.s.opts.AllowInsecureAuth || limits.IsLoopback(c.nc.RemoteAddr())
}

// deadlineConn renews its read or write deadline before each Read and Write,
// so that a client idle for the timeout, or not reading a response, is
// dropped, while a slow but live transfer of a big message goes on.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (d *deadlineConn) Read(p []byte) (int, error) {
	d.Conn.SetReadDeadline(time.Now().Add(d.timeout))
	return d.Conn.Read(p)
}

func (d *deadlineConn) Write(p []byte) (int, error) {
	d.Conn.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.Conn.Write(p)
}

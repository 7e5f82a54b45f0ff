package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// pop3Client is the smallest POP3 client the mix needs (RFC 1939): single
// line commands, multi-line answers read to the terminating dot and
// dropped after counting.
type pop3Client struct {
	conn net.Conn
	r    *bufio.Reader
}

var errPOP3 = errors.New("mailload: pop3 -ERR")

func newPOP3(conn net.Conn) (*pop3Client, error) {
	p := &pop3Client{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
	if _, err := p.status(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	return p, nil
}

// status reads one status line; -ERR is an error carrying the line.
func (p *pop3Client) status() (string, error) {
	p.conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
	line, err := p.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "+OK") {
		return "", fmt.Errorf("%w: %q", errPOP3, line)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "+OK")), nil
}

// cmd sends one command and reads its status line.
func (p *pop3Client) cmd(format string, args ...any) (string, error) {
	if _, err := fmt.Fprintf(p.conn, format+"\r\n", args...); err != nil {
		return "", err
	}
	return p.status()
}

// multi sends a command with a multi-line answer and returns its lines
// (dot-unstuffed) without the terminator; with discard it only counts
// bytes and returns nil.
func (p *pop3Client) multi(discard bool, format string, args ...any) ([]string, int, error) {
	if _, err := p.cmd(format, args...); err != nil {
		return nil, 0, err
	}
	var lines []string
	n := 0
	for {
		line, err := p.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: keep reading it.
			n += len(line)
			continue
		}
		if err != nil {
			return nil, n, err
		}
		if len(line) == 3 && line[0] == '.' && line[1] == '\r' {
			return lines, n, nil
		}
		n += len(line)
		if !discard {
			lines = append(lines, strings.TrimPrefix(strings.TrimRight(string(line), "\r\n"), "."))
		}
	}
}

func (p *pop3Client) close() { p.conn.Close() }

// pop3Load is the POP3/LMTP mix: each client, on its own account, delivers
// two 4 KiB messages over a kept-open LMTP connection, then runs one POP3
// session: USER+PASS (one op, "login"), STAT, LIST, UIDL, RETR and DELE of
// every message, QUIT (which applies the deletions). Every command is an op.
func pop3Load(pop3Addr, lmtpAddr string, users []string, password string, n int, d time.Duration, maxPerClient int) *result {
	m := newMessage(4 << 10)
	return runLoad(n, d, maxPerClient, func(c *client) {
		l := &lmtpConn{c: c, addr: lmtpAddr}
		defer l.close()
		user := users[c.id%len(users)]
		c.ready()
		for !c.done() {
			for range 2 {
				c.op("lmtp", func() error { return l.deliver(m, user) })
			}
			if err := pop3Session(c, pop3Addr, user, password); err != nil {
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
}

// pop3Session is one POP3 session of the mix.
func pop3Session(c *client, addr, user, password string) error {
	var p *pop3Client
	err := c.op("login", func() error {
		conn, err := c.dial(addr)
		if err != nil {
			return err
		}
		if p, err = newPOP3(conn); err != nil {
			return err
		}
		if _, err := p.cmd("USER %s", user); err != nil {
			return err
		}
		_, err = p.cmd("PASS %s", password)
		return err
	})
	if err != nil {
		if p != nil {
			p.close()
		}
		return err
	}
	defer p.close()
	if err := c.op("stat", func() error { _, err := p.cmd("STAT"); return err }); err != nil {
		return err
	}
	var msgs []int
	err = c.op("list", func() error {
		lines, _, err := p.multi(false, "LIST")
		for _, l := range lines {
			num, _, _ := strings.Cut(l, " ")
			k, err := strconv.Atoi(num)
			if err != nil {
				return fmt.Errorf("LIST line %q", l)
			}
			msgs = append(msgs, k)
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := c.op("uidl", func() error { _, _, err := p.multi(false, "UIDL"); return err }); err != nil {
		return err
	}
	for _, k := range msgs {
		err := c.op("retr", func() error {
			_, n, err := p.multi(true, "RETR %d", k)
			if err == nil && n < 4000 {
				err = fmt.Errorf("RETR %d: only %d bytes", k, n)
			}
			return err
		})
		if err != nil {
			return err
		}
		if err := c.op("dele", func() error { _, err := p.cmd("DELE %d", k); return err }); err != nil {
			return err
		}
	}
	return c.op("quit", func() error {
		_, err := p.cmd("QUIT")
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("QUIT: connection closed without +OK")
		}
		return err
	})
}

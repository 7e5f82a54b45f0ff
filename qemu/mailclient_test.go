package qemu

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// The mail clients of the end-to-end test: net/smtp, go-imap's client,
// and a small POP3 client over STLS. The appliance's certificate is
// self-signed, so verification is off; logins go over TLS (the appliance
// refuses plaintext logins from the LAN by default).

var insecureTLS = &tls.Config{InsecureSkipVerify: true}

// deliver sends msg to rcpt over SMTP without authentication (mail for a
// local account), as a remote MTA would.
func deliver(addr, from, rcpt string, msg []byte) error {
	conn, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello("e2e.example"); err != nil {
		return err
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// imapMessages returns the full text (BODY.PEEK[]) of every message in
// INBOX, in sequence order.
func imapMessages(addr, user, pass string) ([][]byte, error) {
	c, err := imapclient.DialStartTLS(addr, &imapclient.Options{TLSConfig: insecureTLS})
	if err != nil {
		return nil, fmt.Errorf("imap dial: %w", err)
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		return nil, fmt.Errorf("imap login: %w", err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("imap select: %w", err)
	}
	if sel.NumMessages == 0 {
		return nil, nil
	}
	var seq imap.SeqSet
	seq.AddRange(1, sel.NumMessages)
	msgs, err := c.Fetch(seq, &imap.FetchOptions{
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil {
		return nil, fmt.Errorf("imap fetch: %w", err)
	}
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		if len(m.BodySection) != 1 {
			return nil, fmt.Errorf("imap fetch: message %d has %d body sections", m.SeqNum, len(m.BodySection))
		}
		out[i] = m.BodySection[0].Bytes
	}
	c.Logout().Wait()
	return out, nil
}

// pop3Messages returns every message of the maildrop (RETR), without
// deleting any.
func pop3Messages(addr, user, pass string) ([][]byte, error) {
	conn, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	r := bufio.NewReader(conn)
	cmd := func(w io.Writer, r *bufio.Reader, line string) (string, error) {
		if line != "" {
			if _, err := io.WriteString(w, line+"\r\n"); err != nil {
				return "", err
			}
		}
		resp, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if !strings.HasPrefix(resp, "+OK") {
			return "", fmt.Errorf("pop3 %q: %s", strings.Fields(line + " greeting")[0], strings.TrimSpace(resp))
		}
		return resp, nil
	}
	if _, err := cmd(conn, r, ""); err != nil {
		return nil, err
	}
	if _, err := cmd(conn, r, "STLS"); err != nil {
		return nil, err
	}
	tc := tls.Client(conn, insecureTLS)
	tr := bufio.NewReader(tc)
	if _, err := cmd(tc, tr, "USER "+user); err != nil {
		return nil, err
	}
	if _, err := cmd(tc, tr, "PASS "+pass); err != nil {
		return nil, err
	}
	stat, err := cmd(tc, tr, "STAT")
	if err != nil {
		return nil, err
	}
	f := strings.Fields(stat)
	if len(f) < 2 {
		return nil, fmt.Errorf("pop3 STAT: %q", stat)
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		return nil, fmt.Errorf("pop3 STAT: %q", stat)
	}
	var out [][]byte
	for i := 1; i <= n; i++ {
		if _, err := cmd(tc, tr, fmt.Sprintf("RETR %d", i)); err != nil {
			return nil, err
		}
		var msg bytes.Buffer
		for {
			line, err := tr.ReadString('\n')
			if err != nil {
				return nil, err
			}
			if line == ".\r\n" {
				break
			}
			msg.WriteString(strings.TrimPrefix(line, ".")) // undo dot-stuffing
		}
		out = append(out, msg.Bytes())
	}
	cmd(tc, tr, "QUIT")
	return out, nil
}

// statusPage returns the body of the HTTP status page.
func statusPage(addr string) (string, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("status page: %s", resp.Status)
	}
	return string(b), err
}

package certs

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"
)

func TestSelfSignedHandshake(t *testing.T) {
	now := time.Now()
	certPEM, keyPEM, err := SelfSigned([]string{"mail.example.org", "127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHolder(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	leaf := h.Certificate().Leaf
	if leaf.NotAfter.Before(now.Add(Validity - time.Hour)) {
		t.Errorf("NotAfter = %v, want about now+%v", leaf.NotAfter, Validity)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)

	l, err := tls.Listen("tcp", "127.0.0.1:0", h.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "mail.example.org"})
	if err != nil {
		t.Fatalf("handshake verifying the self-signed certificate: %v", err)
	}
	c.Close()
}

func TestHolderSetKeepsOldOnError(t *testing.T) {
	c1, k1, err := SelfSigned([]string{"a.example"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, k2, err := SelfSigned([]string{"b.example"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHolder(c1, k1)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Set(c1, k2); err == nil {
		t.Fatal("Set(mismatched key) = nil, want error")
	}
	if err := h.Set([]byte("junk"), k1); err == nil {
		t.Fatal("Set(junk) = nil, want error")
	}
	if got := h.Certificate().Leaf.Subject.CommonName; got != "a.example" {
		t.Fatalf("certificate after failed Set = %q, want a.example", got)
	}
}

func TestSelfSignedNoHost(t *testing.T) {
	if _, _, err := SelfSigned(nil, time.Now()); err == nil {
		t.Fatal("SelfSigned(nil) = nil error, want error")
	}
}

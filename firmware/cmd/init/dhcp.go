package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/vishvananda/netlink"
)

// runDHCP configures the first Ethernet interface by DHCP and keeps the
// lease: it renews at half the lease time and starts over when renewal
// fails. say reports each change. It returns only when no interface exists.
//
// The DHCP transaction ID comes from crypto/rand, which blocks until the
// kernel's random pool is ready: real boards have RDRAND and jitter entropy;
// QEMU needs -device virtio-rng-pci (package qemu adds it).
func runDHCP(ctx context.Context, say func(string, ...any)) error {
	link, err := firstEthernet(ctx)
	if err != nil {
		return err
	}
	name := link.Attrs().Name
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("%s up: %w", name, err)
	}
	backoff := time.Second
	for {
		lease, err := requestLease(ctx, name)
		if err != nil {
			say("postvault: network: dhcp on %s: %v (retry in %s)", name, err, backoff)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Minute)
			continue
		}
		backoff = time.Second
		ack := lease.ACK
		ipnet := &net.IPNet{IP: ack.YourIPAddr, Mask: ack.SubnetMask()}
		if err := netlink.AddrReplace(link, &netlink.Addr{IPNet: ipnet}); err != nil {
			say("postvault: network: address %s: %v", ipnet, err)
		}
		gw := "none"
		if r := ack.Router(); len(r) > 0 {
			gw = r[0].String()
			route := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: r[0]}
			if err := netlink.RouteReplace(route); err != nil {
				say("postvault: network: default route via %s: %v", gw, err)
			}
		}
		writeResolvConf(ack.DNS())
		say("postvault: network %s %s via %s", name, ipnet, gw)
		d := ack.IPAddressLeaseTime(time.Hour) / 2
		if d < 30*time.Second {
			d = 30 * time.Second
		}
		time.Sleep(d)
	}
}

func requestLease(ctx context.Context, iface string) (*nclient4.Lease, error) {
	c, err := nclient4.New(iface, nclient4.WithTimeout(3*time.Second), nclient4.WithRetry(3))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return c.Request(ctx)
}

// firstEthernet waits up to 10 s for a non-loopback link with a MAC address.
func firstEthernet(ctx context.Context) (netlink.Link, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		links, err := netlink.LinkList()
		if err != nil {
			return nil, err
		}
		for _, l := range links {
			a := l.Attrs()
			if a.Flags&net.FlagLoopback == 0 && len(a.HardwareAddr) == 6 && l.Type() == "device" {
				return l, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, errors.New("no Ethernet interface")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// writeResolvConf replaces gokrazy's /tmp/resolv.conf symlink (to the
// kernel's /proc/net/pnp) with the DHCP server's name servers.
func writeResolvConf(dns []net.IP) {
	if len(dns) == 0 {
		return
	}
	var b strings.Builder
	for _, ip := range dns {
		fmt.Fprintf(&b, "nameserver %s\n", ip)
	}
	os.Remove("/tmp/resolv.conf.new")
	if err := os.WriteFile("/tmp/resolv.conf.new", []byte(b.String()), 0o644); err == nil {
		os.Rename("/tmp/resolv.conf.new", "/tmp/resolv.conf")
	}
}

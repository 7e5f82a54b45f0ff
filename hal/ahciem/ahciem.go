// Package ahciem drives bay LEDs through AHCI enclosure management: SGPIO
// backplanes whose LEDs the SATA controller sets from LED messages. Linux
// exposes one message per AHCI port as /sys/class/scsi_host/hostN/em_message
// (present only when the controller reports enclosure management); writing
// a number to it sends an LED message for that port.
//
// # The LED message
//
// The number is a 32-bit LED message (AHCI 1.3, section 12.2.1) that the
// kernel (libahci's ahci_led_store) reads in decimal or 0x-hex:
//
//	bits  0-3   HBA port: the kernel puts in the port of the host written to
//	bits  8-15  port-multiplier slot (0 for a disk on the port itself)
//	bits 16-18  activity LED
//	bits 19-21  locate LED (vendor specific in AHCI; locate on SGPIO backplanes)
//	bits 22-24  fault LED
//
// Intel's ledmon (src/lib/ahci.c) writes, in decimal, for its IBPI patterns:
//
//	normal   0x00000000  (0)
//	locate   0x00080000  (524288)   locate bit
//	fail     0x00400000  (4194304)  fault bit
//	rebuild  0x00480000  (4718592)  fault and locate bits
//
// and has encodings for the other patterns only in debug builds. This
// package exposes the fault and locate bits of one port and slot as two
// periph gpio pins; hal composes the patterns: the four above come out as
// exactly ledmon's values, steady, and the enclosure renders them; the others
// hal blinks on the bits in software. The activity bits are left to the
// kernel, which blinks them on I/O (its sw_activity mode).
//
// A message is written only when it changes. The controller takes one
// message at a time and the kernel answers EBUSY while one is in flight, so
// a busy write is retried after 1.5 ms (ledmon's pause), up to 20 times.
package ahciem

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/pin"
)

// Message bits.
const (
	LocateBit uint32 = 0x00080000
	FaultBit  uint32 = 0x00400000
	slotShift        = 8
	maxSlot          = 15 // libahci's EM_MAX_SLOTS is 15 port-multiplier links
)

const (
	busyPause = 1500 * time.Microsecond
	busyTries = 20
)

// Port is the enclosure message of one AHCI port and slot.
type Port struct {
	host string // "host2"
	path string // .../em_message
	slot uint32

	mu      sync.Mutex
	bits    uint32 // guarded by mu: fault and locate bits to show
	written bool   // guarded by mu: msg has been written
	msg     uint32 // guarded by mu: the last message written
}

// Open returns the enclosure message of scsi host host ("host2") under the
// sysfs root, for port-multiplier slot slot (0 for a disk on the port).
func Open(root, host string, slot int) (*Port, error) {
	if !hostRE.MatchString(host) {
		return nil, fmt.Errorf("ahciem: scsi host %q: want hostN", host)
	}
	if slot < 0 || slot > maxSlot {
		return nil, fmt.Errorf("ahciem: %s: slot %d out of range 0-%d", host, slot, maxSlot)
	}
	dir := filepath.Join(root, "class", "scsi_host", host)
	p := &Port{host: host, path: filepath.Join(dir, "em_message"), slot: uint32(slot)}
	if _, err := os.Stat(p.path); err != nil {
		return nil, fmt.Errorf("ahciem: %s has no enclosure management: %w", host, err)
	}
	// em_message_type is the kernel's message-type mask; bit 0 is LED messages.
	if b, err := os.ReadFile(filepath.Join(dir, "em_message_type")); err == nil {
		if t, err := strconv.ParseUint(strings.TrimSpace(string(b)), 0, 32); err == nil && t&1 == 0 {
			return nil, fmt.Errorf("ahciem: %s: enclosure takes no LED messages (em_message_type %d)", host, t)
		}
	}
	return p, nil
}

// String returns "ahci-em:host2/0".
func (p *Port) String() string { return fmt.Sprintf("ahci-em:%s/%d", p.host, p.slot) }

// Fault returns the port's fault LED.
func (p *Port) Fault() gpio.PinIO { return &bitPin{p, FaultBit, "fault"} }

// Locate returns the port's locate LED.
func (p *Port) Locate() gpio.PinIO { return &bitPin{p, LocateBit, "locate"} }

// Message returns the last message written and whether one was.
func (p *Port) Message() (uint32, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.msg, p.written
}

func (p *Port) set(mask uint32, on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	bits := p.bits &^ mask
	if on {
		bits |= mask
	}
	p.bits = bits
	msg := bits | p.slot<<slotShift
	if p.written && msg == p.msg {
		return nil
	}
	if err := write(p.path, strconv.FormatUint(uint64(msg), 10)); err != nil {
		p.written = false
		return fmt.Errorf("ahciem: %s: %w", p, err)
	}
	p.msg, p.written = msg, true
	return nil
}

func write(path, v string) error {
	var err error
	for try := 0; try < busyTries; try++ {
		if try > 0 {
			time.Sleep(busyPause)
		}
		var f *os.File
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return err
		}
		_, err = f.WriteString(v)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if !errors.Is(err, syscall.EBUSY) {
			return err
		}
	}
	return err
}

// bitPin is one LED bit of a Port as a gpio pin.
type bitPin struct {
	p    *Port
	mask uint32
	name string
}

var (
	_ gpio.PinIO  = (*bitPin)(nil)
	_ pin.PinFunc = (*bitPin)(nil)
)

func (b *bitPin) String() string   { return b.p.String() + ":" + b.name }
func (b *bitPin) Halt() error      { return b.Out(gpio.Low) }
func (b *bitPin) Name() string     { return b.p.host + ":" + b.name }
func (b *bitPin) Number() int      { return int(b.p.slot) }
func (b *bitPin) Function() string { return string(b.Func()) }
func (b *bitPin) Func() pin.Func {
	if b.Read() {
		return "LED/On"
	}
	return "LED/Off"
}
func (b *bitPin) SupportedFuncs() []pin.Func { return []pin.Func{"LED"} }
func (b *bitPin) SetFunc(pin.Func) error     { return errors.New("ahciem: SetFunc not supported") }
func (b *bitPin) In(gpio.Pull, gpio.Edge) error {
	return errors.New("ahciem: enclosure LEDs are outputs")
}

// Read returns the bit as last set.
func (b *bitPin) Read() gpio.Level {
	b.p.mu.Lock()
	defer b.p.mu.Unlock()
	return gpio.Level(b.p.bits&b.mask != 0)
}
func (b *bitPin) WaitForEdge(time.Duration) bool { return false }
func (b *bitPin) Pull() gpio.Pull                { return gpio.PullNoChange }
func (b *bitPin) DefaultPull() gpio.Pull         { return gpio.PullNoChange }
func (b *bitPin) Out(l gpio.Level) error         { return b.p.set(b.mask, bool(l)) }
func (b *bitPin) PWM(d gpio.Duty, _ physic.Frequency) error {
	switch d {
	case 0:
		return b.Out(gpio.Low)
	case gpio.DutyMax:
		return b.Out(gpio.High)
	}
	return errors.New("ahciem: enclosure LEDs are on or off")
}

var (
	hostRE     = regexp.MustCompile(`^host[0-9]+$`)
	pciRE      = regexp.MustCompile(`^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$`)
	ataRE      = regexp.MustCompile(`^ata[1-9][0-9]*$`)
	platformRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$`)
)

// HostPort is one AHCI port as sysfs shows it.
type HostPort struct {
	Host string // scsi host, "host2"
	Key  string // disk-port key, "0000:00:1f.2/ata3" (see package hal)
	EM   bool   // the port has an em_message file
}

// Ports lists the ports of the AHCI controllers under the sysfs root (scsi
// hosts whose proc_name is "ahci"), ordered by disk-port key (controller,
// then port number).
func Ports(root string) ([]HostPort, error) {
	dir := filepath.Join(root, "class", "scsi_host")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("ahciem: %w", err)
	}
	var ports []HostPort
	for _, e := range ents {
		name := e.Name()
		b, err := os.ReadFile(filepath.Join(dir, name, "proc_name"))
		if err != nil || strings.TrimSpace(string(b)) != "ahci" {
			continue
		}
		key, err := portKey(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("ahciem: %s: %w", name, err)
		}
		_, emErr := os.Stat(filepath.Join(dir, name, "em_message"))
		ports = append(ports, HostPort{Host: name, Key: key, EM: emErr == nil})
	}
	sort.Slice(ports, func(i, j int) bool { return lessKey(ports[i].Key, ports[j].Key) })
	return ports, nil
}

// HostOf returns the scsi host ("host2") of disk-port key under root.
func HostOf(root, key string) (string, error) {
	ports, err := Ports(root)
	if err != nil {
		return "", err
	}
	for _, p := range ports {
		if p.Key == key {
			return p.Host, nil
		}
	}
	return "", fmt.Errorf("ahciem: no AHCI port %s under %s", key, root)
}

// portKey resolves a scsi_host entry to its disk-port key: the ataN element
// of its device path and the PCI address just above it.
func portKey(entry string) (string, error) {
	real, err := filepath.EvalSymlinks(entry)
	if err != nil {
		return "", err
	}
	parts := strings.Split(filepath.ToSlash(real), "/")
	for i := len(parts) - 1; i > 0; i-- {
		if !ataRE.MatchString(parts[i]) {
			continue
		}
		// The controller is the device directory above ataN: a PCI address,
		// or a platform device name for an AHCI not on PCI.
		if c := parts[i-1]; pciRE.MatchString(c) || !strings.Contains(c, ":") && platformRE.MatchString(c) {
			return c + "/" + parts[i], nil
		}
	}
	return "", fmt.Errorf("device path %s has no CONTROLLER/ataN", real)
}

func lessKey(a, b string) bool {
	pa, na, _ := strings.Cut(a, "/ata")
	pb, nb, _ := strings.Cut(b, "/ata")
	if pa != pb {
		return pa < pb
	}
	x, _ := strconv.Atoi(na)
	y, _ := strconv.Atoi(nb)
	return x < y
}

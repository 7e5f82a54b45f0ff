package hal

import (
	"fmt"
	"strconv"
	"strings"
)

// PortKey returns the disk-port key of ATA port ata (1-based, as the
// kernel's ataN device) of the controller at PCI address pci: "pci/ataN".
func PortKey(pci string, ata int) string { return pci + "/ata" + strconv.Itoa(ata) }

// CheckPort reports whether s is a well-formed disk-port key: a PCI address
// in the kernel's form "dddd:bb:dd.f" (lower-case hex: domain, bus, device
// up to 1f, function up to 7), a slash, and "ata" with the kernel's ATA port
// number (1 or more, no leading zero).
func CheckPort(s string) error {
	pci, ata, ok := strings.Cut(s, "/")
	if !ok {
		return fmt.Errorf("hal: disk port %q: want PCI-ADDRESS/ataN", s)
	}
	if err := checkPCI(pci); err != nil {
		return fmt.Errorf("hal: disk port %q: %w", s, err)
	}
	n, found := strings.CutPrefix(ata, "ata")
	if !found || n == "" || n[0] == '0' || len(n) > 5 {
		return fmt.Errorf("hal: disk port %q: want ataN after the slash", s)
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return fmt.Errorf("hal: disk port %q: want ataN after the slash", s)
		}
	}
	return nil
}

func checkPCI(s string) error {
	// dddd:bb:dd.f
	if len(s) != 12 || s[4] != ':' || s[7] != ':' || s[10] != '.' {
		return fmt.Errorf("PCI address %q: want dddd:bb:dd.f", s)
	}
	for i, c := range s {
		if i == 4 || i == 7 || i == 10 {
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("PCI address %q: want lower-case hex digits", s)
		}
	}
	if dev, _ := strconv.ParseUint(s[8:10], 16, 8); dev > 0x1f {
		return fmt.Errorf("PCI address %q: device above 1f", s)
	}
	if s[11] > '7' {
		return fmt.Errorf("PCI address %q: function above 7", s)
	}
	return nil
}

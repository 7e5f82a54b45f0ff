package hal

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// PortKey returns the disk-port key of ATA port ata (1-based, as the
// kernel's ataN device) of the controller at PCI address pci: "pci/ataN".
func PortKey(pci string, ata int) string { return pci + "/ata" + strconv.Itoa(ata) }

// CheckPort reports whether s is a well-formed disk-port key:
//
//	CONTROLLER/ataN[.M]
//
// CONTROLLER is a PCI address in the kernel's form "dddd:bb:dd.f" (lower-case
// hex, device up to 1f, function up to 7) or, for a controller not on PCI
// (a platform AHCI on an ARM board), its sysfs device directory name such as
// "fe300000.sata" (letters, digits, '.', '_', '-'; no ':'). N is the
// kernel's ATA port number (1 or more, no leading zero); ".M" (0-15) names
// a port-multiplier port. drivers/sata reports disks with the same keys.
func CheckPort(s string) error {
	ctrl, ata, ok := strings.Cut(s, "/")
	if !ok {
		return fmt.Errorf("hal: disk port %q: want CONTROLLER/ataN, such as 0000:00:1f.2/ata3 (PCI-ADDRESS/ataN)", s)
	}
	if strings.Contains(ctrl, ":") {
		if err := checkPCI(ctrl); err != nil {
			return fmt.Errorf("hal: disk port %q: %w", s, err)
		}
	} else if !platformRE.MatchString(ctrl) {
		return fmt.Errorf("hal: disk port %q: controller %q is neither a PCI address nor a device name", s, ctrl)
	}
	if !ataRE.MatchString(ata) {
		return fmt.Errorf("hal: disk port %q: want ataN or ataN.M after the slash", s)
	}
	if _, m, pmp := strings.Cut(ata, "."); pmp {
		if v, _ := strconv.Atoi(m); v > 15 {
			return fmt.Errorf("hal: disk port %q: port-multiplier port %s above 15", s, m)
		}
	}
	return nil
}

var (
	platformRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$`)
	ataRE      = regexp.MustCompile(`^ata[1-9][0-9]{0,4}(\.(0|[1-9][0-9]?))?$`)
)

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

# Drives postvault's IMAP server with Python's imaplib, a client no one here
# wrote. Prints one "key=value" line per check; the Go test compares them.
import email
import email.policy
import imaplib
import sys

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
m = imaplib.IMAP4(host, port)
print("login=" + m.login(user, password)[0])
typ, data = m.capability()
print("rev2=" + str(b"IMAP4rev2" in data[0]))
typ, data = m.list()
print("list=" + ",".join(sorted(l.decode().rsplit(" ", 1)[1].strip('"') for l in data)))
typ, data = m.select("INBOX")
print("exists=" + data[0].decode())
typ, data = m.search(None, "FROM", "alice")
print("search=" + data[0].decode())
typ, data = m.fetch("1", "(RFC822)")
msg = email.message_from_bytes(data[0][1], policy=email.policy.default)
print("subject=" + msg["Subject"])
print("body=" + msg.get_body(("plain",)).get_content().strip())
typ, data = m.fetch("1", "(FLAGS)")
print("flags=" + data[0].decode())
new = "From: Боб <bob@example.org>\r\nSubject: =?utf-8?b?0J7RgtCy0LXRgg==?=\r\n\r\nОтвет.\r\n".encode()
typ, data = m.append("Sent", "(\\Seen)", None, new)
print("append=" + typ + " " + data[0].decode())
m.select("Sent")
typ, data = m.uid("FETCH", "1", "(BODY.PEEK[])")
print("roundtrip=" + str(data[0][1] == new))
m.select("INBOX")
typ, data = m.store("1", "+FLAGS", "\\Deleted")
typ, data = m.expunge()
print("expunge=" + data[0].decode())
m.close()
# imaplib keeps the capabilities of the greeting, where ENABLE is not yet
# offered (the library lists it once authenticated); read them again.
m._get_capabilities()
m.enable("UTF8=ACCEPT")
typ, data = m.create('"Письма"')
print("create=" + typ)
typ, data = m.list('""', '"Письма"')
print("utf8list=" + data[0].decode("utf-8"))
m.logout()
print("done")

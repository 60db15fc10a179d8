package munge

import (
	"encoding/binary"
	"fmt"
)

// munged's message format (MUNGE 0.5.x, src/libcommon/m_msg.[ch]): an
// 11-byte header (magic, version, type, retry, body length), then the body;
// integers are big-endian, strings carry their NUL in their length.
const (
	msgMagic   = 0x00606D4B // "MUNGE" in base 26
	msgVersion = 4
	msgHdrSize = 11

	msgEncReq = 2
	msgEncRsp = 3
	msgDecReq = 4
	msgDecRsp = 5

	// maxReqLen is the longest request body libmunge sends
	// (MUNGE_MAXIMUM_REQ_LEN).
	maxReqLen = 1 << 20
	// maxRspLen bounds an answer's body. libmunge reads any length; a
	// credential of a maxReqLen payload is about 1.4 MiB, and anything
	// longer is not munged talking, so it is not allocated.
	maxRspLen = 2 << 20

	uidAny = 0xFFFFFFFF // MUNGE_UID_ANY and MUNGE_GID_ANY: no restriction

	// Encode request defaults: munged picks cipher, MAC and compression.
	cipherDefault = 1
	macDefault    = 1
	zipDefault    = 1
)

func packHeader(typ, retry uint8, bodyLen int) []byte {
	h := make([]byte, msgHdrSize, msgHdrSize+bodyLen)
	binary.BigEndian.PutUint32(h[0:], msgMagic)
	h[4] = msgVersion
	h[5] = typ
	h[6] = retry
	binary.BigEndian.PutUint32(h[7:], uint32(bodyLen))
	return h
}

// checkHeader checks a received header and returns its body length.
func checkHeader(h []byte, want uint8) (int, error) {
	if magic := binary.BigEndian.Uint32(h[0:]); magic != msgMagic {
		return 0, socketErr("Received invalid message magic %d", magic)
	}
	if h[4] != msgVersion {
		return 0, socketErr("Received invalid message version %d", h[4])
	}
	if h[5] != want {
		return 0, socketErr("Received unexpected message type: wanted %d, got %d", want, h[5])
	}
	n := binary.BigEndian.Uint32(h[7:])
	if n > maxRspLen {
		return 0, &Error{Status: BadLength, Detail: fmt.Sprintf("Failed to receive message: length of %d exceeds max of %d", n, maxRspLen)}
	}
	return int(n), nil
}

type encodeRequest struct {
	ttl              uint32
	authUID, authGID uint32
	data             []byte
}

func (r encodeRequest) pack() []byte {
	b := make([]byte, 0, 20+len(r.data))
	b = append(b, cipherDefault, macDefault, zipDefault, 0) // realm: none
	b = binary.BigEndian.AppendUint32(b, r.ttl)
	b = binary.BigEndian.AppendUint32(b, r.authUID)
	b = binary.BigEndian.AppendUint32(b, r.authGID)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.data)))
	return append(b, r.data...)
}

// packDecodeRequest: the credential, NUL-terminated as libmunge sends it.
func packDecodeRequest(cred string) []byte {
	b := make([]byte, 0, 5+len(cred))
	b = binary.BigEndian.AppendUint32(b, uint32(len(cred)+1))
	b = append(b, cred...)
	return append(b, 0)
}

// response is what munged answers; an encode answer fills only status,
// message and data.
type response struct {
	status           Status
	message          string // munged's error message
	ttl              uint32
	credUID, credGID uint32
	authUID, authGID uint32
	data             []byte
}

func (r *response) err() error {
	msg := r.message
	if msg == "" {
		msg = r.status.text()
	}
	return &Error{Status: r.status, Detail: msg}
}

func unpackEncodeResponse(body []byte) (*response, error) {
	u := unpacker{b: body}
	r := &response{}
	r.status = Status(u.u8())
	r.message = u.cstring(int(u.u8()))
	r.data = u.bytes(int(u.u32()))
	return r, u.done(msgEncRsp)
}

func unpackDecodeResponse(body []byte) (*response, error) {
	u := unpacker{b: body}
	r := &response{}
	r.status = Status(u.u8())
	r.message = u.cstring(int(u.u8()))
	u.bytes(3)           // cipher, mac, zip
	u.bytes(int(u.u8())) // realm
	r.ttl = u.u32()
	u.bytes(int(u.u8())) // address of the encoding host
	u.bytes(8)           // encode and decode times
	r.credUID, r.credGID = u.u32(), u.u32()
	r.authUID, r.authGID = u.u32(), u.u32()
	r.data = u.bytes(int(u.u32()))
	return r, u.done(msgDecRsp)
}

// unpacker reads a body field by field; a short or long body is an error
// once, at done, as libmunge's "Failed to unpack message type N".
type unpacker struct {
	b   []byte
	bad bool
}

func (u *unpacker) bytes(n int) []byte {
	if u.bad || n < 0 || n > len(u.b) {
		u.bad = true
		return nil
	}
	v := u.b[:n:n]
	u.b = u.b[n:]
	return v
}

func (u *unpacker) u8() uint8 {
	if v := u.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (u *unpacker) u32() uint32 {
	if v := u.bytes(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (u *unpacker) cstring(n int) string {
	v := u.bytes(n)
	for len(v) > 0 && v[len(v)-1] == 0 {
		v = v[:len(v)-1]
	}
	return string(v)
}

func (u *unpacker) done(typ int) error {
	if u.bad || len(u.b) != 0 {
		return socketErr("Failed to unpack message type %d", typ)
	}
	return nil
}

func socketErr(format string, args ...any) *Error {
	return &Error{Status: Socket, Detail: fmt.Sprintf(format, args...)}
}

package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Proof is warmupd's answer to a claim: HMAC-SHA256 keyed by the claim's
// reply key over the nonce, the status and the digest of the answer body.
// Only a process that decoded the credential (warmupd's uid, same MUNGE
// key) knows the reply key.
func (c Claim) Proof(status int, body []byte) string {
	key, err := hex.DecodeString(c.ReplyKey)
	if err != nil {
		return "" // ParsePayload and NewClaim only make hex keys
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(replyMagic + c.Nonce + "\n" + strconv.Itoa(status) + "\n" + BodyDigest(body) + "\n"))
	return hex.EncodeToString(m.Sum(nil))
}

// CheckProof tells whether proof (the ProofHeader of an answer) was made
// from this claim for this status and body; constant time.
func (c Claim) CheckProof(proof string, status int, body []byte) bool {
	want := c.Proof(status, body)
	return want != "" && hmac.Equal([]byte(want), []byte(proof))
}

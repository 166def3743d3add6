// Keys, the signature backends, and a signed envelope checked by a key ring.
import {
  fastBackend,
  generateKey,
  KeyRing,
  makeSigner,
  signatureBackends,
  signEnvelope,
} from 'bftkit';

const alice = generateKey('alice', 'demo-cluster');
const domain = { cluster: 'demo-cluster', protocol: 'chat' };

// Every backend signs the same bytes and accepts the same signatures.
for (const [name, backend] of Object.entries(signatureBackends)) {
  const signer = makeSigner(alice.id, alice.seed, backend);
  const message = signEnvelope(domain, signer, 'HELLO', { text: 'hi' });
  const ring = new KeyRing(new Map([[alice.id, alice.publicKey]]), backend);
  const tampered = { ...message, body: { text: 'bye' } };
  console.log(
    `${name}: ${ring.verify(domain, message)} / tampered ${ring.verify(domain, tampered)}`,
  );
}
console.log(`fast default: ${fastBackend.name}`);

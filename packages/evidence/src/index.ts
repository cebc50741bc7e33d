/** @omnimall/evidence: the audit log's pure core (canonical JSON, Merkle trees, the hash chain, signed checkpoints, the verifier). */
export { CanonicalJsonError, assertJsonData, canonicalBytes, canonicalHash, canonicalJson } from './canonical';
export {
  HASH_SIZE,
  MerkleLog,
  consistencyProof,
  emptyRoot,
  inclusionProof,
  leafHash,
  nodeHash,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from './merkle';
export {
  CHECKPOINT_CONTEXT,
  checkpointDue,
  checkpointText,
  keyIdOf,
  signCheckpoint,
  verifyCheckpoint,
  type Checkpoint,
  type CheckpointPolicy,
  type KeyInput,
  type TreeHead,
} from './checkpoint';
export {
  GENESIS_HASH,
  LEAF_VERSION,
  chainHash,
  chainRecord,
  erasePayload,
  inputProblem,
  leafOf,
  merkleLeafOf,
  verifyLog,
  type EvidenceInput,
  type EvidenceRecord,
  type LogProblem,
  type ProblemKind,
  type SubjectRef,
} from './chain';
export { EvidenceError } from './errors';

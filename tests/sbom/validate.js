// validate.js FORMAT FILE - check an SBOM airpack wrote.  Exit 0 when valid;
// otherwise print each problem (one per line) and exit 1.
//
// cyclonedx: the CycloneDX project's own JSON Schema validator for 1.5
//   (@cyclonedx/cyclonedx-library, JsonStrictValidator, over ajv).
// spdx: SPDX 2.3's required fields, formats and enumerations (spec clauses
//   6-11), every license expression parsed by spdx-expression-parse, and
//   every relationship naming elements that exist.  No SPDX 2.3 document
//   validator ships in Debian 12 or npm, so these checks are written out here.
//
// The packages come from tools/sbom-validators.sh (run by tools/deps.sh);
// NODE_PATH points at them.
'use strict';
const fs = require('fs');

const [format, file] = process.argv.slice(2);
const text = fs.readFileSync(file, 'utf8');
const problems = [];
const bad = (msg) => problems.push(msg);

function spdx(doc) {
  const parse = require('spdx-expression-parse');
  const idRe = /^SPDXRef-[A-Za-z0-9.-]+$/;
  const ids = new Set(['SPDXRef-DOCUMENT']);
  const checksumLen = { SHA1: 40, SHA224: 56, SHA256: 64, SHA384: 96, SHA512: 128, MD5: 32 };
  const purposes = ['APPLICATION', 'FRAMEWORK', 'LIBRARY', 'CONTAINER', 'OPERATING-SYSTEM',
    'DEVICE', 'FIRMWARE', 'SOURCE', 'ARCHIVE', 'FILE', 'INSTALL', 'OTHER'];
  const relTypes = ['DESCRIBES', 'DESCRIBED_BY', 'CONTAINS', 'CONTAINED_BY', 'DEPENDS_ON',
    'DEPENDENCY_OF', 'GENERATED_FROM', 'GENERATES', 'DISTRIBUTION_ARTIFACT', 'PACKAGE_OF',
    'OTHER'];
  const str = (o, k, where) => {
    if (typeof o[k] !== 'string' || o[k] === '') bad(`${where}.${k}: required non-empty string`);
    return o[k];
  };
  const license = (v, where) => {
    if (v === 'NOASSERTION' || v === 'NONE') return;
    try { parse(v); } catch (e) { bad(`${where}: not an SPDX license expression: ${JSON.stringify(v)} (${e.message})`); }
  };
  const location = (v, where) => {
    if (v !== 'NOASSERTION' && v !== 'NONE' && !/^(https?|ftp|file):\/\/\S+$/.test(v))
      bad(`${where}: expected a URL, NONE or NOASSERTION, got ${JSON.stringify(v)}`);
  };
  const checksums = (cs, where, required) => {
    if (!Array.isArray(cs) || cs.length === 0) {
      if (required) bad(`${where}.checksums: required non-empty array`);
      return;
    }
    cs.forEach((c, i) => {
      const n = checksumLen[c.algorithm];
      if (!n) bad(`${where}.checksums[${i}].algorithm: unknown ${JSON.stringify(c.algorithm)}`);
      else if (!new RegExp(`^[0-9a-f]{${n}}$`).test(c.checksumValue))
        bad(`${where}.checksums[${i}].checksumValue: expected ${n} lowercase hex digits`);
    });
  };
  if (doc.spdxVersion !== 'SPDX-2.3') bad('spdxVersion: expected SPDX-2.3');
  if (doc.dataLicense !== 'CC0-1.0') bad('dataLicense: expected CC0-1.0');
  if (doc.SPDXID !== 'SPDXRef-DOCUMENT') bad('SPDXID: expected SPDXRef-DOCUMENT');
  str(doc, 'name', 'document');
  const ns = str(doc, 'documentNamespace', 'document');
  if (ns && (!/^https?:\/\/[^\s#]+$/.test(ns))) bad('documentNamespace: expected an absolute URI without #');
  const ci = doc.creationInfo || {};
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(ci.created || '')) bad('creationInfo.created: expected YYYY-MM-DDThh:mm:ssZ');
  if (!Array.isArray(ci.creators) || ci.creators.length === 0 ||
      !ci.creators.every((c) => /^(Person|Organization|Tool): \S/.test(c)))
    bad('creationInfo.creators: expected "Tool: ...", "Person: ..." or "Organization: ..." entries');
  (doc.packages || []).forEach((p, i) => {
    const w = `packages[${i}]`;
    const id = str(p, 'SPDXID', w);
    if (id && !idRe.test(id)) bad(`${w}.SPDXID: expected SPDXRef-[A-Za-z0-9.-]+`);
    if (ids.has(id)) bad(`${w}.SPDXID: duplicate ${id}`);
    ids.add(id);
    str(p, 'name', w);
    location(str(p, 'downloadLocation', w), `${w}.downloadLocation`);
    if (p.filesAnalyzed !== false && !p.packageVerificationCode)
      bad(`${w}: filesAnalyzed is not false, so packageVerificationCode is required`);
    checksums(p.checksums, w, false);
    if (p.supplier !== undefined && !/^(Person|Organization): \S|^NOASSERTION$/.test(p.supplier))
      bad(`${w}.supplier: expected "Organization: ..." or "Person: ..."`);
    if (p.licenseConcluded !== undefined) license(p.licenseConcluded, `${w}.licenseConcluded`);
    if (p.licenseDeclared !== undefined) license(p.licenseDeclared, `${w}.licenseDeclared`);
    if (p.primaryPackagePurpose !== undefined && !purposes.includes(p.primaryPackagePurpose))
      bad(`${w}.primaryPackagePurpose: unknown ${p.primaryPackagePurpose}`);
    (p.externalRefs || []).forEach((r, k) => {
      if (!['SECURITY', 'PACKAGE-MANAGER', 'PERSISTENT-ID', 'OTHER'].includes(r.referenceCategory))
        bad(`${w}.externalRefs[${k}].referenceCategory: unknown`);
      str(r, 'referenceType', `${w}.externalRefs[${k}]`);
      str(r, 'referenceLocator', `${w}.externalRefs[${k}]`);
    });
  });
  if (!Array.isArray(doc.packages) || doc.packages.length === 0) bad('packages: expected at least one');
  (doc.files || []).forEach((f, i) => {
    const w = `files[${i}]`;
    const id = str(f, 'SPDXID', w);
    if (id && !idRe.test(id)) bad(`${w}.SPDXID: expected SPDXRef-[A-Za-z0-9.-]+`);
    if (ids.has(id)) bad(`${w}.SPDXID: duplicate ${id}`);
    ids.add(id);
    const name = str(f, 'fileName', w);
    if (name && !name.startsWith('./')) bad(`${w}.fileName: expected a relative path starting with ./`);
    checksums(f.checksums, w, true);
    if (f.licenseConcluded !== undefined) license(f.licenseConcluded, `${w}.licenseConcluded`);
  });
  let describes = 0;
  (doc.relationships || []).forEach((r, i) => {
    const w = `relationships[${i}]`;
    if (!ids.has(r.spdxElementId)) bad(`${w}.spdxElementId: no element ${r.spdxElementId}`);
    if (!ids.has(r.relatedSpdxElement)) bad(`${w}.relatedSpdxElement: no element ${r.relatedSpdxElement}`);
    if (!relTypes.includes(r.relationshipType)) bad(`${w}.relationshipType: unknown ${r.relationshipType}`);
    if (r.spdxElementId === 'SPDXRef-DOCUMENT' && r.relationshipType === 'DESCRIBES') describes++;
  });
  if (describes === 0) bad('relationships: the document DESCRIBES nothing');
}

async function main() {
  let doc;
  try { doc = JSON.parse(text); } catch (e) { bad(`not JSON: ${e.message}`); }
  if (doc && format === 'spdx') spdx(doc);
  else if (doc && format === 'cyclonedx') {
    const { Validation, Spec } = require('@cyclonedx/cyclonedx-library');
    const errors = await new Validation.JsonStrictValidator(Spec.Version.v1dot5).validate(text);
    if (errors !== null) bad(`CycloneDX 1.5 schema: ${JSON.stringify(errors)}`);
  } else if (doc) bad(`unknown format ${format}`);
  problems.forEach((p) => console.log(p));
  process.exit(problems.length ? 1 : 0);
}
main().catch((e) => { console.log(`validator failed: ${e.stack}`); process.exit(2); });

// This module is browser compatible.
/**
 * WGSL snippets shared by the kernel families.
 *
 * @module
 */

/**
 * The linear id of a 1D dispatch folded into (x, y) by `normalizeDispatch`
 * (beyond 65535 workgroups per dimension): `folded_id(gid, nwg, size)` is
 * `gid.x + gid.y · nwg.x · size` for a global invocation id and workgroup
 * size `size`; `folded_id(wid, nwg, 1u)` numbers workgroups the same way.
 */
export const FOLDED_ID_WGSL: string = /* wgsl */ `
fn folded_id(id: vec3<u32>, nwg: vec3<u32>, size: u32) -> u32 {
  return id.x + id.y * nwg.x * size;
}
`;

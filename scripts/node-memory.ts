/**
 * How much memory a Fillpath process gets, in one place: the image's Node flags (Dockerfile `ENV NODE_OPTIONS`, and
 * the one flag NODE_OPTIONS refuses, on the api's and worker's command lines), the container limit the compose file
 * gives the api and the worker, and what those flags come to inside that limit, which the benchmarks run the
 * processes with. `npm run lint:deploy` checks the Dockerfile and the compose file say the same.
 *
 * Why flags at all: with memory to spare V8 grows the old space long before collecting it (the api measured 480 MB
 * after B1 with a live heap of 40–70 MB). Capping the old space alone made V8 shrink the young generation to match,
 * and the api then spent its time promoting and collecting (B1 fell from ~0.7 to ~0.5 × its floor); a young
 * generation fixed at 16 MB semi-spaces keeps the short-lived garbage of a request out of the old space (B1 back at
 * ~0.67 ×, the api at ~210–220 MB after B1). The old space is a share of the container (Node reads the cgroup
 * limit), so a bigger container needs no new flags.
 */
export const CONTAINER_MEMORY_MB = 512;
export const OLD_SPACE_PERCENT = 50;
const SEMI_SPACE_MB = 16;
export const IMAGE_NODE_OPTIONS = `--max-semi-space-size=${SEMI_SPACE_MB} --max-old-space-size-percentage=${OLD_SPACE_PERCENT}`;
/** Not allowed in NODE_OPTIONS: the api's and worker's commands pass it (Dockerfile CMD, compose `command`). */
export const COMMAND_NODE_FLAGS = [`--min-semi-space-size=${SEMI_SPACE_MB}`];
/** All of the above as they resolve inside a CONTAINER_MEMORY_MB container, for processes started outside one. */
export const CONTAINER_NODE_FLAGS = [
  `--max-semi-space-size=${SEMI_SPACE_MB}`,
  ...COMMAND_NODE_FLAGS,
  `--max-old-space-size=${(CONTAINER_MEMORY_MB * OLD_SPACE_PERCENT) / 100}`,
];

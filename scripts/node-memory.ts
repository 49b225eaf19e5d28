/**
 * How much memory a Fillpath process gets, in one place: the image's Node flags (Dockerfile `ENV NODE_OPTIONS`),
 * the container limit the compose file gives the api and the worker, and what those flags come to inside that
 * limit, which the benchmarks run the processes with. `npm run lint:deploy` checks the Dockerfile and the compose
 * file say the same.
 *
 * Why flags at all: with memory to spare V8 grows the old space long before collecting it (the api measured 450 MB
 * after a minute of alerts with a live heap of 40–70 MB), and a young generation of 8 MB semi-spaces instead of
 * up to 32 MB holds less garbage between scavenges. The old space is sized as a share of the container (Node reads
 * the cgroup limit), so a bigger container needs no new flags.
 */
export const CONTAINER_MEMORY_MB = 512;
export const OLD_SPACE_PERCENT = 50;
export const IMAGE_NODE_OPTIONS = `--max-semi-space-size=8 --max-old-space-size-percentage=${OLD_SPACE_PERCENT}`;
/** IMAGE_NODE_OPTIONS as they resolve inside a CONTAINER_MEMORY_MB container, for processes started outside one. */
export const CONTAINER_NODE_FLAGS = [
  '--max-semi-space-size=8',
  `--max-old-space-size=${(CONTAINER_MEMORY_MB * OLD_SPACE_PERCENT) / 100}`,
];

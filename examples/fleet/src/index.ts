/** The fleet example's parts, for tests and for programs that embed it. */
export { type FolderFleet, type FolderFleetOptions, fleetFromFolder } from './fleet-from-folder.js';
export { describeFleet } from './report.js';

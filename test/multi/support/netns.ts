// The namespace lab lives in bench/support (shared with bench/faults.ts); tests import it here.
export { HUB_IP, LAB_API_TOKEN, NetLab, netnsUnavailable } from '../../../bench/support/netns.js';

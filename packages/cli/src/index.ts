export { describeFailure, ExitCodes } from './exit';

export { STARTER_FILE_NAME, STARTER_TEMPLATE } from './template.js';

// The TypeORM CLI's data source (npm run migration:generate|run|revert).
// It reads DATABASE_URL through the same validation as the app.
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { validateEnv } from '../config/env.js';
import { typeormOptions } from './typeorm-options.js';

export default new DataSource(typeormOptions(validateEnv(process.env).DATABASE_URL));

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { startApp } from '../store';
import { App } from './App';
import './app.css';

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root element');

startApp();
createRoot(container).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

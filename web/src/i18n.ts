// The interface language: Chinese by default, English on request. The choice comes from the URL
// (`lang=en`), else from localStorage, else Chinese; it is written back to both so a shared link
// opens in the sender's language.

import { readHash } from './url';

export type Lang = 'zh' | 'en';

const STORAGE_KEY = 'civmap.lang';

const zh = {
  appTitle: '创文问题地图',
  navMap: '公众地图',
  navReport: '上报问题',
  navChief: '点长/路长',
  navOffice: '街道工作台',
  navRoutes: '路线规划',
  langSwitch: 'English',
  filters: '筛选',
  category: '问题类别',
  allCategories: '全部类别',
  noneCategories: '清空',
  status: '状态',
  statusAll: '全部状态',
  statusOpen: '未结案',
  period: '时间',
  periodAll: '全部时间',
  period7: '近 7 天',
  period30: '近 30 天',
  period90: '近 90 天',
  periodMonth: '本月',
  periodYear: '近一年',
  heat: '热力图',
  zones: '三个周边',
  legend: '图例',
  legendOpen: '实心：待处理',
  legendClosed: '空心：已结案',
  legendCluster: '数字：聚合的问题数',
  shown: (n: number) => `地图上 ${n} 个问题`,
  shownPartial: (n: number) => `地图上 ${n} 个问题（仅显示前 ${n} 个）`,
  loading: '加载中…',
  loadFailed: '加载失败',
  areaClamped: '范围过大，只显示地图中心附近的问题；请放大地图。',
  ranking: '三个周边排名',
  rankingTitle: (kind: string) => `本月问题最多的${kind}周边`,
  rankingNotAvailable: '排名服务暂未开放。',
  rankingFromCounts: '按本月区内上报的问题数排序（浏览器统计）。',
  rankingEmpty: '没有这一类的周边区域。',
  rankOpen: (n: number) => `${n} 个待处理`,
  rankTotal: (n: number) => `${n} 个`,
  poiSchool: '学校',
  poiPark: '公园',
  poiMarket: '菜场',
  reportedAt: '上报时间',
  updatedAt: '更新时间',
  deadline: '整改期限',
  overdue: '已超期',
  severity: '严重程度',
  description: '描述',
  location: '位置',
  generalised: '位置已模糊处理（约 100 米），保护住户隐私',
  photo: '照片',
  noPhoto: '暂无公开照片',
  history: '处理记录',
  close: '关闭',
  // reporter
  reportTitle: '上报问题',
  reportHint: '点“使用我的位置”，或在地图上点选问题位置。',
  useMyLocation: '使用我的位置',
  locating: '正在定位…',
  tapMap: '或在地图上点选',
  noLocation: '请先选择位置（定位或在地图上点选）。',
  geoDenied: '无法获取位置：',
  geoUnsupported: '此浏览器不支持定位，请在地图上点选位置。',
  pickCategory: '请选择类别',
  takePhoto: '拍照 / 选择照片',
  descriptionPlaceholder: '问题的具体情况，例如：3 号楼 2 单元楼道堆放纸箱',
  submit: '提交',
  submitting: '提交中…',
  submitted: '已上报，谢谢！问题已显示在地图上。',
  photoNotSent: '服务器暂不接收照片：问题已上报，照片未上传。',
  photoUploadFailed: '照片上传失败：',
  evidencePhoto: '现场照片（整改后）',
  photoNotSentStep: '服务器暂不接收照片：操作已完成，照片未上传。',
  reportAnother: '再报一个',
  selectedAt: (lon: string, lat: string) => `经度 ${lon}，纬度 ${lat}（WGS-84）`,
  accuracy: (m: number) => `定位精度约 ${m} 米`,
  // staff
  token: '访问令牌',
  tokenHint: '账号登录即将上线；目前请输入管理员发放的 API 令牌。',
  signIn: '使用令牌',
  signOut: '退出',
  signedIn: '已使用令牌',
  needToken: '此操作需要工作人员令牌。',
  problems: '问题列表',
  matched: (n: number) => `共 ${n} 条`,
  loadMore: '加载更多',
  colCategory: '类别',
  colStatus: '状态',
  colReported: '上报',
  colDeadline: '期限',
  colSeverity: '程度',
  actions: '操作',
  note: '备注',
  notePlaceholder: '处理说明（驳回时必填）',
  done: '已完成',
  refresh: '刷新',
  stale: '问题已被他人更新，已重新加载，请再试一次。',
  noProblems: '没有符合条件的问题。',
  chiefIntro: '点长、路长、片长：查看自己负责区域内的问题，按期限处理。',
  chiefNeedsMe: '需要服务器提供“当前用户”接口（GET /api/v1/me）后才能确定您负责的区域。',
  myZones: '我的区域',
  routesIntro: '为整改队伍规划巡查路线：选择问题、队伍数、时间和出行方式。',
  routesNotAvailable: '路线规划服务暂未开放。',
  teams: '队伍数',
  timeBudget: '时间（分钟）',
  mode: '方式',
  modeWalk: '步行',
  modeBike: '骑行',
  modeDrive: '驾车',
  plan: '规划路线',
  chosen: (n: number) => `已选 ${n} 个问题（在地图上点选或取消）`,
  chooseFiltered: '选中筛选出的全部待处理问题',
  teamSummary: (team: number, stops: number, min: number, m: number) => `第 ${team} 队：${stops} 个点，约 ${min} 分钟，${m} 米`,
  attribution: '© OpenStreetMap 贡献者',
} as const;

type Dict = { [K in keyof typeof zh]: (typeof zh)[K] extends (...a: infer A) => string ? (...a: A) => string : string };

const en: Dict = {
  appTitle: 'Civic problem map',
  navMap: 'Public map',
  navReport: 'Report',
  navChief: 'Chiefs',
  navOffice: 'Street office',
  navRoutes: 'Routes',
  langSwitch: '中文',
  filters: 'Filters',
  category: 'Category',
  allCategories: 'All categories',
  noneCategories: 'Clear',
  status: 'Status',
  statusAll: 'Any status',
  statusOpen: 'Open',
  period: 'Period',
  periodAll: 'Any time',
  period7: 'Last 7 days',
  period30: 'Last 30 days',
  period90: 'Last 90 days',
  periodMonth: 'This month',
  periodYear: 'Last year',
  heat: 'Heat map',
  zones: 'Three surroundings',
  legend: 'Legend',
  legendOpen: 'Filled: open',
  legendClosed: 'Hollow: closed',
  legendCluster: 'Number: problems clustered',
  shown: (n) => `${n} problems on the map`,
  shownPartial: (n) => `${n} problems on the map (first ${n} only)`,
  loading: 'Loading…',
  loadFailed: 'Loading failed',
  areaClamped: 'The area is too large: only problems near the centre are shown. Zoom in.',
  ranking: 'Surroundings ranking',
  rankingTitle: (kind) => `Worst ${kind} surroundings this month`,
  rankingNotAvailable: 'The ranking service is not available yet.',
  rankingFromCounts: 'Ordered by problems reported in the zone this month (counted in the browser).',
  rankingEmpty: 'No surroundings zones of this kind.',
  rankOpen: (n) => `${n} open`,
  rankTotal: (n) => `${n}`,
  poiSchool: 'school',
  poiPark: 'park',
  poiMarket: 'wet market',
  reportedAt: 'Reported',
  updatedAt: 'Updated',
  deadline: 'Deadline',
  overdue: 'Overdue',
  severity: 'Severity',
  description: 'Description',
  location: 'Location',
  generalised: 'Location generalised (about 100 m) to protect residents',
  photo: 'Photo',
  noPhoto: 'No public photo',
  history: 'History',
  close: 'Close',
  reportTitle: 'Report a problem',
  reportHint: 'Tap “Use my location” or tap the map where the problem is.',
  useMyLocation: 'Use my location',
  locating: 'Locating…',
  tapMap: 'or tap the map',
  noLocation: 'Choose a location first (your position or a tap on the map).',
  geoDenied: 'Cannot get your position: ',
  geoUnsupported: 'This browser cannot locate you; tap the map instead.',
  pickCategory: 'Choose a category',
  takePhoto: 'Take / choose a photo',
  descriptionPlaceholder: 'What is wrong, e.g. cardboard boxes piled in stairwell 2 of building 3',
  submit: 'Submit',
  submitting: 'Submitting…',
  submitted: 'Reported, thank you! The problem is on the map.',
  photoNotSent: 'The server does not take photos yet: the problem was reported without the photo.',
  photoUploadFailed: 'Photo upload failed: ',
  evidencePhoto: 'Photo on site (after)',
  photoNotSentStep: 'The server does not take photos yet: the step was recorded without the photo.',
  reportAnother: 'Report another',
  selectedAt: (lon, lat) => `lon ${lon}, lat ${lat} (WGS-84)`,
  accuracy: (m) => `accuracy about ${m} m`,
  token: 'Access token',
  tokenHint: 'Sign-in with accounts is coming; for now enter the API token your administrator gave you.',
  signIn: 'Use token',
  signOut: 'Sign out',
  signedIn: 'Using a token',
  needToken: 'This needs a staff token.',
  problems: 'Problems',
  matched: (n) => `${n} in total`,
  loadMore: 'Load more',
  colCategory: 'Category',
  colStatus: 'Status',
  colReported: 'Reported',
  colDeadline: 'Deadline',
  colSeverity: 'Severity',
  actions: 'Actions',
  note: 'Note',
  notePlaceholder: 'What was done (required to reject)',
  done: 'Done',
  refresh: 'Refresh',
  stale: 'Someone else changed this problem; it was reloaded. Try again.',
  noProblems: 'No problems match.',
  chiefIntro: 'Point-, road- and area-chiefs: the problems in your zones, by deadline.',
  chiefNeedsMe: 'Your zones can be shown once the server says who you are (GET /api/v1/me).',
  myZones: 'My zones',
  routesIntro: 'Plan rectification routes for teams: problems, number of teams, time and mode.',
  routesNotAvailable: 'The route planner is not available yet.',
  teams: 'Teams',
  timeBudget: 'Time (minutes)',
  mode: 'Mode',
  modeWalk: 'Walk',
  modeBike: 'Bike',
  modeDrive: 'Drive',
  plan: 'Plan routes',
  chosen: (n) => `${n} problems chosen (click them on the map to add or remove)`,
  chooseFiltered: 'Choose every open problem the filters show',
  teamSummary: (team, stops, min, m) => `Team ${team}: ${stops} stops, about ${min} min, ${m} m`,
  attribution: '© OpenStreetMap contributors',
};

const STATUS: Record<Lang, Record<string, string>> = {
  zh: {
    reported: '已上报',
    dispatched: '已派单',
    escalated: '已转办',
    rectified: '已整改',
    closed: '已结案',
    recurred: '回潮',
    merged: '已合并',
  },
  en: {
    reported: 'Reported',
    dispatched: 'Dispatched',
    escalated: 'Escalated',
    rectified: 'Rectified',
    closed: 'Closed',
    recurred: 'Recurred',
    merged: 'Merged',
  },
};

const SEVERITY: Record<Lang, Record<string, string>> = {
  zh: { low: '轻微', medium: '一般', high: '较重', critical: '严重' },
  en: { low: 'Low', medium: 'Medium', high: 'High', critical: 'Critical' },
};

const ACTION: Record<Lang, Record<string, string>> = {
  zh: {
    dispatch: '派单',
    escalate: '转给块长',
    rectify: '整改',
    reject: '驳回返工',
    verify: '核查结案',
    recur: '回潮',
    merge: '合并',
  },
  en: {
    dispatch: 'Dispatch',
    escalate: 'Escalate',
    rectify: 'Rectify',
    reject: 'Reject',
    verify: 'Verify and close',
    recur: 'Recurred',
    merge: 'Merge',
  },
};

const EVENT: Record<Lang, Record<string, string>> = {
  zh: {
    created: '上报',
    dispatched: '派单',
    escalated: '转办',
    rectified: '整改',
    rejected: '驳回',
    verified: '结案',
    recurred: '回潮',
    merged: '合并',
    edited: '修改',
    reinspected: '回头看',
  },
  en: {
    created: 'Reported',
    dispatched: 'Dispatched',
    escalated: 'Escalated',
    rectified: 'Rectified',
    rejected: 'Rejected',
    verified: 'Verified',
    recurred: 'Recurred',
    merged: 'Merged',
    edited: 'Edited',
    reinspected: 'Re-inspected',
  },
};

let current: Lang = initialLang();

function initialLang(): Lang {
  const fromUrl = readHash().params.get('lang');
  if (fromUrl === 'en' || fromUrl === 'zh') return fromUrl;
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored === 'en' || stored === 'zh') return stored;
  } catch {
    // Storage may be disabled (private mode); Chinese it is.
  }
  return 'zh';
}

/** The current interface language. */
export function lang(): Lang {
  return current;
}

/** Switches the language and remembers it. Views re-render themselves afterwards. */
export function setLang(l: Lang): void {
  current = l;
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
  try {
    localStorage.setItem(STORAGE_KEY, l);
  } catch {
    // Not fatal: the URL keeps the choice.
  }
}

/** The dictionary of the current language. */
export function t(): Dict {
  return current === 'zh' ? (zh as unknown as Dict) : en;
}

/** A status code (`dispatched`) in the current language. */
export function statusName(code: string): string {
  return STATUS[current][code] ?? code;
}

/** A severity code (`high`) in the current language. */
export function severityName(code: string): string {
  return SEVERITY[current][code] ?? code;
}

/** A lifecycle action (`verify`) in the current language. */
export function actionName(code: string): string {
  return ACTION[current][code] ?? code;
}

/** An event kind (`rectified`) in the current language. */
export function eventName(code: string): string {
  return EVENT[current][code] ?? code;
}

/** All status codes in lifecycle order. */
export const STATUSES = ['reported', 'dispatched', 'escalated', 'rectified', 'closed', 'recurred', 'merged'] as const;

/** All severity codes, lowest first. */
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

/** A date-time in the local time zone, short form, in the current language. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(current === 'zh' ? 'zh-CN' : 'en-GB', {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  });
}

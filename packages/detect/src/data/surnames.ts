/**
 * Chinese surnames: the single-character surnames that cover the great majority of the population
 * (the most frequent several hundred of the national household registration statistics) and the
 * compound surnames still in use.
 */
export const SINGLE_SURNAMES =
  '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤' +
  '常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由';

export const COMPOUND_SURNAMES: readonly string[] = [
  '欧阳',
  '上官',
  '司马',
  '诸葛',
  '东方',
  '皇甫',
  '尉迟',
  '公孙',
  '慕容',
  '长孙',
  '宇文',
  '司徒',
  '夏侯',
  '轩辕',
  '令狐',
  '钟离',
  '端木',
  '独孤',
  '南宫',
  '西门',
  '百里',
  '呼延',
  '万俟',
  '澹台',
  '公冶',
  '太史',
  '申屠',
  '赫连',
  '濮阳',
  '闻人',
  '拓跋',
  '第五',
];

/**
 * Characters that rarely end a given name but often follow one in running text (verbs, function
 * words): a candidate "surname + 2 characters" whose last character is one of these is cut to 2.
 */
export const NAME_FOLLOWERS =
  '的了在是和与及等说来去到已将要想把被给从向对于也都还就又才再曾已经因为所以但而且或者请让叫称表示认为提出反映投诉咨询办理申请签收拨打致电发送购买支付预约退款下单先女同老医经主总您你我他她们这那此其每各个位人号';

/** Characters that never occur inside a given name (punctuation-like CJK and common grammar). */
export const NOT_IN_NAME =
  '的了是在和与及等或也都就不没有这那个们吗呢吧啊哦嗯着过被把给从向对于为以之其所而且但若如即省市区县镇乡村路街道号栋室楼层单元巷弄';
